"""Which groups a mitigation comparison equalises, and how many test rows each of them has.

A mitigation is trained and judged on one grouping: by default the first sensitive feature alone
(``("sex",)``); an intersection (``("sex", "ethnicity")``) only when asked for, because an intersection
splits the test rows into many small groups whose rates, and so the disparity between them, are
uncertain. :func:`group_sizes` counts each group's training and test rows and flags the groups with
fewer test rows than the audit's minimum group size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError


def joined_labels(frame: pd.DataFrame) -> np.ndarray:
    """Each row's group label: its values as text joined by the metrics engine's separator
    (``"female & [18, 30)"``), built column by column rather than row by row."""
    from auditapp.core.metrics import GROUP_SEPARATOR

    if frame.shape[1] == 0:
        return np.full(len(frame), "", dtype=str)
    columns = [frame[c].astype(str).to_numpy(dtype=str) for c in frame.columns]
    labels = columns[0]
    for column in columns[1:]:
        labels = np.char.add(np.char.add(labels, GROUP_SEPARATOR), column)
    result: np.ndarray = labels
    return result


def resolve_grouping(sensitive: Sequence[str], grouping: Sequence[str] | str | None) -> tuple[str, ...]:
    """The features whose groups the comparison equalises (default: the first sensitive feature alone).

    Raises
    ------
    AuditInputError
        If a feature is not one of the sensitive features, repeats, or none is left.
    """
    sensitive = tuple(str(s) for s in sensitive)
    if not sensitive:
        raise AuditInputError("Choose at least one sensitive feature before comparing mitigations.")
    if grouping is None:
        return sensitive[:1]
    chosen = (grouping,) if isinstance(grouping, str) else tuple(str(g) for g in grouping)
    unknown = [g for g in chosen if g not in sensitive]
    if unknown:
        raise AuditInputError(
            f"The mitigation grouping {', '.join(map(repr, unknown))} is not a sensitive feature of this audit "
            f"({', '.join(sensitive)}). Group by one of them, or by an intersection of them.")
    if not chosen or len(set(chosen)) != len(chosen):
        raise AuditInputError(
            f"The mitigation grouping must name each sensitive feature at most once, got {list(chosen)}. "
            f"Choose one of {', '.join(sensitive)}, or several for their intersection.")
    return tuple(s for s in sensitive if s in chosen)  # the audit's order, so the cache ignores click order


@dataclass(frozen=True)
class GroupSizes:
    """Rows per group of the comparison's grouping.

    ``table`` is indexed by group label (``"female"``, or ``"female & asian"`` for intersections) with
    columns ``train_rows``, ``test_rows``, ``test_favourable`` (test rows whose true label is favourable)
    and ``small`` (fewer test rows than ``min_group_size``), largest group first.
    """

    grouping: tuple[str, ...]
    table: pd.DataFrame
    min_group_size: int

    @property
    def small_groups(self) -> tuple[str, ...]:
        return tuple(str(g) for g in self.table.index[self.table["small"]])

    def describe(self, group: str) -> str:
        """``"asian & female (23 test rows, small)"`` or ``"male (817 test rows)"``."""
        if group not in self.table.index:
            return str(group)
        rows = int(self.table.loc[group, "test_rows"])
        small = ", small" if bool(self.table.loc[group, "small"]) else ""
        return f"{group} ({rows:,} test row{'s' if rows != 1 else ''}{small})"


def group_sizes(groups_train: Any, groups_test: Any, y_test: Any, *, grouping: Sequence[str],
                min_group_size: int) -> GroupSizes:
    """Count each group's training and test rows; flag groups with fewer than ``min_group_size`` test rows."""
    train = pd.Series(np.asarray(groups_train).astype(str)).value_counts()
    test_labels = pd.Series(np.asarray(groups_test).astype(str))
    test = test_labels.value_counts()
    favourable = test_labels[np.asarray(y_test).astype(bool)].value_counts()
    names = sorted(set(train.index) | set(test.index), key=lambda g: (-int(test.get(g, 0)), g))
    table = pd.DataFrame({
        "train_rows": [int(train.get(g, 0)) for g in names],
        "test_rows": [int(test.get(g, 0)) for g in names],
        "test_favourable": [int(favourable.get(g, 0)) for g in names],
    }, index=pd.Index(names, name="group"))
    table["small"] = table["test_rows"] < int(min_group_size)
    return GroupSizes(grouping=tuple(grouping), table=table, min_group_size=int(min_group_size))


def widest_pair(result: Any, metric: str) -> tuple[str, str] | None:
    """The two groups whose gap is the candidate's disparity: highest and lowest rate of ``metric``.

    ``metric`` is the comparison's disparity metric; equalized odds takes the larger of the TPR and FPR
    gaps, error-rate parity the accuracy gap. None when fewer than two groups have the rate.
    """
    if result.grouping is None:
        return None
    groups = result.grouping.groups
    columns = {"demographic_parity_difference": ("selection_rate",),
               "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
               "equal_opportunity_difference": ("true_positive_rate",),
               "accuracy_equality_difference": ("accuracy",)}.get(metric, ("selection_rate",))
    best, best_gap = None, -1.0
    for column in columns:
        values = groups[column].dropna()
        if len(values) < 2:
            continue
        gap = float(values.max() - values.min())
        if gap > best_gap:
            best, best_gap = (str(values.idxmax()), str(values.idxmin())), gap
    return best
