"""Group and intersectional metrics with confidence intervals, disparities and tests.

The rows are reduced once to a table of confusion counts per observed intersection of all sensitive
features (``K x 4``). Every grouping (each feature alone, and each combination of features) is a sum of
rows of that table, and every interval and test is computed from the grouping's counts in closed form
or by bisection (``auditapp.core.gaps`` names the methods), so the same data always give the same numbers
and a million rows cost no more than a thousand.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.defaults import MIN_GROUP_SIZE, N_BOOT
from auditapp.core.errors import AuditInputError
from auditapp.core.gaps import CRITERIA, adjust_q_values, disparities, group_intervals, spreads
from auditapp.core.rates import METRICS, rates_from_counts
from auditapp.core.validation import plain

GROUP_SEPARATOR = " & "
_CELLS = ("tn", "fp", "fn", "tp")
__all__ = ["CRITERIA", "GROUP_SEPARATOR", "AuditResult", "GroupingResult", "compute_audit",
           "compute_audit_from_counts"]


class _Grouped(Protocol):
    @property
    def features(self) -> tuple[str, ...]: ...


G = TypeVar("G", bound=_Grouped)


def find_grouping(groupings: Sequence[G], features: Sequence[str]) -> G:
    """The grouping of ``features`` (one feature or an intersection, in any order) among ``groupings``: the
    lookup every audit result (binary, regression, multiclass) uses."""
    wanted = set(features)
    for item in groupings:
        if set(item.features) == wanted:
            return item
    raise KeyError(f"No grouping for {tuple(features)}; have {[g.features for g in groupings]}")


@dataclass(frozen=True)
class GroupingResult:
    """Metrics for one grouping: one sensitive feature, or an intersection of several.

    ``groups`` is indexed by the group label (values joined by " & ") with one column per feature, the
    confusion counts ``tn, fp, fn, tp``, ``count``, ``flags``, ``is_reference`` and, for every metric
    ``m``, the columns ``m``, ``m_low`` and ``m_high`` (no interval, NaN, when the rate's denominator is
    below ``intervals.MIN_DENOMINATOR``: too few to estimate). ``disparities`` has one row per (group,
    metric) against the reference group, plus the average odds difference. ``summary`` has, per metric,
    max−min and min÷max across groups with simultaneous CIs and the test of no gap; ``criteria`` the
    named fairness criteria likewise.
    """

    features: tuple[str, ...]
    reference: str
    groups: pd.DataFrame
    disparities: pd.DataFrame
    summary: pd.DataFrame
    criteria: pd.DataFrame

    @property
    def name(self) -> str:
        return " × ".join(self.features)

    def attributes(self, label: str) -> dict[str, str]:
        """The ``{feature: value}`` of a group label."""
        row = self.groups.loc[label]
        return {f: str(row[f]) for f in self.features}


@dataclass(frozen=True)
class AuditResult:
    """Every grouping's metrics, with the settings that produced them.

    ``n_boot`` is recorded as given but no longer used: every interval comes from counts.
    """

    groupings: tuple[GroupingResult, ...]
    n_rows: int
    confidence: float
    n_boot: int
    seed: int
    min_group_size: int
    notices: tuple[str, ...] = ()
    extras: Mapping[str, object] = field(default_factory=dict)

    def grouping(self, *features: str) -> GroupingResult:
        """The result for one feature or an intersection (features in any order)."""
        return find_grouping(self.groupings, features)


def encode(sensitive_features: pd.DataFrame) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integer code per row of the intersection of all features, and each feature's sorted levels."""
    codes, levels = [], []
    for name in sensitive_features.columns:
        column = sensitive_features[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cats = column.cat.remove_unused_categories()
            order = np.argsort(np.asarray(cats.cat.categories, dtype=str), kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size)
            codes.append(rank[cats.cat.codes.to_numpy()])
            levels.append(np.asarray(cats.cat.categories, dtype=str)[order])
        else:
            code, uniques = pd.factorize(column.astype(str), sort=True)
            codes.append(code)
            levels.append(np.asarray(uniques, dtype=str))
    full = np.zeros(len(sensitive_features), dtype=np.int64)
    for code, lev in zip(codes, levels, strict=True):
        full = full * len(lev) + code
    return full, levels


def cell_table(y_true: np.ndarray, y_pred: np.ndarray, full_codes: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Observed intersections (their full codes) and their confusion counts ``(K, 4)``."""
    cell = 2 * np.asarray(y_true, dtype=np.int64) + np.asarray(y_pred, dtype=np.int64)
    if n_cells <= 4_000_000:
        dense = np.bincount(full_codes * 4 + cell, minlength=n_cells * 4).reshape(n_cells, 4)
        observed = np.flatnonzero(dense.sum(axis=1))
        return observed, dense[observed]
    observed, inverse = np.unique(full_codes, return_inverse=True)
    table = np.bincount(inverse * 4 + cell, minlength=observed.size * 4).reshape(-1, 4)
    return observed, table


def _check_inputs(y_true: ArrayLike, y_pred: ArrayLike, sensitive_features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    frame = sensitive_features.to_frame() if isinstance(sensitive_features, pd.Series) \
        else pd.DataFrame(sensitive_features)
    if not (len(y_true) == len(y_pred) == len(frame)):
        raise AuditInputError(
            f"Labels ({len(y_true)}), predictions ({len(y_pred)}) and sensitive features "
            f"({len(frame)}) must have the same number of rows."
        )
    if len(y_true) == 0:
        raise AuditInputError("The dataset has no rows to audit.")
    for name, values in (("labels", y_true), ("predictions", y_pred)):
        bad = ~np.isin(values, (0, 1))
        if bad.any():
            raise AuditInputError(
                f"The {name} must be 0 or 1, but contain {plain(np.asarray(values)[bad][0])!r}. "
                "Map the favourable outcome to 1."
            )
    return y_true.astype(np.int64), y_pred.astype(np.int64), frame.reset_index(drop=True)


def compute_audit(
    y_true: ArrayLike, y_pred: ArrayLike, sensitive_features: pd.DataFrame, *,
    reference: Mapping[str, str] | None = None,
    min_group_size: int = MIN_GROUP_SIZE, n_boot: int = N_BOOT, confidence: float = 0.95, seed: int = 0,
    intersections: bool = True,
) -> AuditResult:
    """Per-group metrics, disparities, tests and confidence intervals for every grouping.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
        True and predicted labels, 1 being the favourable outcome.
    sensitive_features : DataFrame
        One column per sensitive feature (values are used as strings).
    reference : mapping, optional
        Per feature: ``"largest"`` (default), ``"best:<metric>"`` or a group value.
    min_group_size : int
        Groups with fewer rows are flagged ``small_group``.
    n_boot, seed
        Kept for older callers and recorded; the intervals are computed from counts and use neither.
    confidence
        The interval level (and 1 − confidence the significance level of the matching tests).
    intersections : bool
        Also compute every combination of two or more features.

    Raises
    ------
    AuditInputError
        If lengths differ, labels are not 0/1, or a named reference group does not exist.
    """
    y_true, y_pred, frame = _check_inputs(y_true, y_pred, sensitive_features)
    features = tuple(map(str, frame.columns))
    frame.columns = list(features)
    full, levels = encode(frame)
    n_cells = int(np.prod([len(lev) for lev in levels]))
    observed, table = cell_table(y_true, y_pred, full, n_cells)
    return _audit_from_cells(features, levels, observed, table, n_rows=int(len(y_true)), reference=reference,
                             min_group_size=min_group_size, n_boot=n_boot, confidence=confidence, seed=seed,
                             intersections=intersections)


def compute_audit_from_counts(
    cells: pd.DataFrame, features: Sequence[str], *,
    reference: Mapping[str, str] | None = None,
    min_group_size: int = MIN_GROUP_SIZE, n_boot: int = N_BOOT, confidence: float = 0.95, seed: int = 0,
    intersections: bool = True,
) -> AuditResult:
    """``compute_audit`` from the counts table alone: the seam every aggregation engine feeds.

    Parameters
    ----------
    cells : DataFrame
        One row per observed intersection: a column per feature in ``features`` (the group labels, as
        strings) and the confusion counts ``tn``, ``fp``, ``fn``, ``tp``. Rows with the same labels are
        added up; rows whose counts are all zero are ignored.
    features : sequence of str
        The sensitive features, in the audit's order.

    The result is the one ``compute_audit`` gives on rows with these labels and counts (same groups,
    same order, same numbers), because both go through the same table of counts per intersection.

    Raises
    ------
    AuditInputError
        If the table has no rows, a count is negative, or a named reference group does not exist.
    """
    features = tuple(map(str, features))
    counts = cells[list(_CELLS)].to_numpy(dtype=np.int64)
    if (counts < 0).any():
        raise AuditInputError("A count in the table of counts is negative; counts must be whole numbers >= 0.")
    keep = counts.sum(axis=1) > 0
    if not keep.any():
        raise AuditInputError("The dataset has no rows to audit.")
    labels = cells.loc[keep, list(features)].astype(str).reset_index(drop=True)
    full, levels = encode(labels)
    observed, inverse = np.unique(full, return_inverse=True)
    table = np.zeros((observed.size, 4), dtype=np.int64)
    np.add.at(table, inverse, counts[keep])
    return _audit_from_cells(features, levels, observed, table, n_rows=int(table.sum()), reference=reference,
                             min_group_size=min_group_size, n_boot=n_boot, confidence=confidence, seed=seed,
                             intersections=intersections)


def _audit_from_cells(features: Sequence[str], levels: Sequence[np.ndarray], observed: np.ndarray,
                      table: np.ndarray, *, n_rows: int, reference: Mapping[str, str] | None, min_group_size: int,
                      n_boot: int, confidence: float, seed: int, intersections: bool) -> AuditResult:
    per_feature = np.empty((observed.size, len(features)), dtype=np.int64)
    rest = observed.copy()
    for j in range(len(features) - 1, -1, -1):
        per_feature[:, j] = rest % len(levels[j])
        rest //= len(levels[j])
    subsets = [c for r in range(1, len(features) + 1) for c in itertools.combinations(range(len(features)), r)]
    if not intersections:
        subsets = [s for s in subsets if len(s) == 1]
    reference = dict(reference or {})
    parts: list[GroupingResult] = []
    notices: list[str] = []
    for subset in subsets:
        parts.append(_grouping(subset, features, levels, per_feature, table, reference,
                               min_group_size, confidence, notices))
    adjust_q_values([part.disparities for part in parts])
    return AuditResult(
        groupings=tuple(parts), n_rows=int(n_rows), confidence=float(confidence),
        n_boot=int(n_boot), seed=int(seed), min_group_size=int(min_group_size), notices=tuple(notices),
    )


def _grouping(subset: Sequence[int], features: Sequence[str], levels: Sequence[np.ndarray],
              per_feature: np.ndarray, table: np.ndarray, reference: Mapping[str, str] | None, min_group_size: int,
              confidence: float, notices: list[str]) -> GroupingResult:
    names = tuple(features[j] for j in subset)
    key = np.zeros(per_feature.shape[0], dtype=np.int64)
    for j in subset:
        key = key * len(levels[j]) + per_feature[:, j]
    group_keys, member = np.unique(key, return_inverse=True)
    counts = np.zeros((group_keys.size, 4), dtype=np.int64)
    np.add.at(counts, member, table)  # O(K), exact in integers (a dense group x cell indicator is O(G·K))
    values = {}
    rest = group_keys.copy()
    for j in reversed(subset):
        values[features[j]] = levels[j][rest % len(levels[j])]
        rest //= len(levels[j])
    labels = [GROUP_SEPARATOR.join(str(values[n][g]) for n in names) for g in range(group_keys.size)]
    point = rates_from_counts(counts)
    columns: dict[str, object] = {n: values[n] for n in names}
    for i, cell in enumerate(("tn", "fp", "fn", "tp")):
        columns[cell] = counts[:, i]
    columns["count"] = counts.sum(axis=1)
    bounds = group_intervals(counts, confidence)
    for metric in METRICS:
        columns[metric] = point[metric]
        columns[f"{metric}_low"], columns[f"{metric}_high"] = bounds[metric]
    groups = pd.DataFrame(columns, index=pd.Index(labels, name="group"))
    ref = _reference_index(names, groups, reference, min_group_size, notices)
    groups["is_reference"] = np.arange(len(groups)) == ref
    groups["flags"] = [_flags(row, min_group_size) for row in counts]
    summary, criteria = spreads(counts, point, confidence)
    return GroupingResult(names, labels[ref], groups, disparities(labels, counts, point, ref, confidence, bounds),
                          summary, criteria)


def _flags(counts_row: np.ndarray, min_group_size: int) -> tuple[str, ...]:
    tn, fp, fn, tp = (int(v) for v in counts_row)
    flags = []
    if tn + fp + fn + tp < min_group_size:
        flags.append("small_group")
    if tp + fn == 0:
        flags.append("no_positives")
    if tn + fp == 0:
        flags.append("no_negatives")
    if tp + fp == 0:
        flags.append("no_predicted_positives")
    if tn + fn == 0:
        flags.append("no_predicted_negatives")
    return tuple(flags)


def _reference_index(names: tuple[str, ...], groups: pd.DataFrame, reference: Mapping[str, str] | None,
                     min_group_size: int, notices: list[str]) -> int:
    sizes = groups["count"].to_numpy()
    wanted = [(reference or {}).get(n, "largest") for n in names]
    if len(names) == 1:
        choice = wanted[0]
        if choice == "largest":
            return int(np.argmax(sizes))
        if choice.startswith("best:"):
            metric = choice.split(":", 1)[1]
            if metric not in METRICS:
                raise AuditInputError(
                    f"Unknown metric '{metric}' in reference 'best:{metric}' for '{names[0]}'. "
                    f"Use one of: {', '.join(METRICS)}."
                )
            scores = groups[metric].to_numpy(dtype=float).copy()
            scores[(sizes < min_group_size) & (sizes < sizes.max())] = np.nan
            if np.isnan(scores).all():
                return int(np.argmax(sizes))
            return int(np.nanargmax(scores))
        matches = np.flatnonzero(groups[names[0]].astype(str).to_numpy() == str(choice))
        if matches.size == 0:
            raise AuditInputError(
                f"The reference group '{choice}' does not occur in '{names[0]}'. Its groups are: "
                f"{', '.join(map(str, groups[names[0]].tolist()[:20]))}."
            )
        return int(matches[0])
    named = all(w not in ("largest",) and not w.startswith("best:") for w in wanted)
    if named:
        mask = np.ones(len(groups), dtype=bool)
        for n, w in zip(names, wanted, strict=True):
            mask &= groups[n].astype(str).to_numpy() == str(w)
        if mask.any():
            return int(np.flatnonzero(mask)[0])
        notices.append(
            f"The intersection of the reference groups ({GROUP_SEPARATOR.join(wanted)}) has no rows; "
            f"the largest group of {' × '.join(names)} is the reference instead."
        )
    return int(np.argmax(sizes))
