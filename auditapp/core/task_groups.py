"""Groups per row for the regression and multiclass audits: one grouping per sensitive feature and per
intersection of several, each with its labels, sizes, row codes and reference group.

The labels are those of the binary audit (values joined by " & ", features sorted as ``metrics.encode``
sorts them), so the same data gives the same group names whatever the task.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import GROUP_SEPARATOR, encode

__all__ = ["MAX_TASK_GROUPS", "MAX_TASK_FEATURES", "RowGrouping", "row_groupings", "pick_reference"]

# Each group of a regression audit has its own bootstrap and each grouping its own pass: bounded work.
MAX_TASK_GROUPS = 2_000
MAX_TASK_FEATURES = 4


@dataclass(frozen=True)
class RowGrouping:
    """One grouping: ``codes`` gives each row's group (0..G-1), ``labels``/``values``/``sizes`` each group's."""

    features: tuple[str, ...]
    labels: tuple[str, ...]
    values: pd.DataFrame  # one column per feature, one row per group
    sizes: np.ndarray
    codes: np.ndarray

    @property
    def name(self) -> str:
        return " × ".join(self.features)


def row_groupings(sensitive_features: pd.DataFrame, *, intersections: bool = True) -> list[RowGrouping]:
    """Every grouping of ``sensitive_features`` (its columns are already text, as ``spec.sensitive_frame`` gives)."""
    frame = sensitive_features.reset_index(drop=True)
    features = tuple(str(c) for c in frame.columns)
    if len(features) > MAX_TASK_FEATURES:
        raise AuditInputError(
            f"{len(features)} sensitive features give {2 ** len(features) - 1} groupings; a regression or multiclass "
            f"audit takes at most {MAX_TASK_FEATURES} at once. Audit fewer features at a time.")
    full, levels = encode(frame)
    per_feature, rest = [], full.copy()
    for lev in reversed(levels):
        per_feature.append(rest % len(lev))
        rest //= len(lev)
    per_feature.reverse()
    sizes_r = range(1, len(features) + 1) if intersections else range(1, 2)
    out = []
    for r in sizes_r:
        for subset in itertools.combinations(range(len(features)), r):
            key = np.zeros(len(frame), dtype=np.int64)
            for j in subset:
                key = key * len(levels[j]) + per_feature[j]
            keys, codes = np.unique(key, return_inverse=True)
            if keys.size > MAX_TASK_GROUPS:
                raise AuditInputError(
                    f"The grouping {' × '.join(features[j] for j in subset)} has {keys.size:,} groups; a regression or "
                    f"multiclass audit takes at most {MAX_TASK_GROUPS:,} per grouping. Bin a numeric feature "
                    "(--bins) or audit fewer features at once.")
            values, rest = {}, keys.copy()
            for j in reversed(subset):
                values[features[j]] = levels[j][rest % len(levels[j])]
                rest //= len(levels[j])
            names = tuple(features[j] for j in subset)
            table = pd.DataFrame({n: values[n] for n in names})
            labels = tuple(GROUP_SEPARATOR.join(str(values[n][g]) for n in names) for g in range(keys.size))
            out.append(RowGrouping(names, labels, table, np.bincount(codes, minlength=keys.size), codes))
    return out


def pick_reference(grouping: RowGrouping, reference: Mapping[str, str], *, best: dict[str, np.ndarray],
                   min_group_size: int) -> tuple[int, str | None]:
    """Index of the reference group and a notice (or None).

    ``reference`` maps a feature to a value, ``largest`` or ``best:METRIC`` where METRIC is a key of ``best``
    (per-group values, higher is better; pass negated errors). Intersections use the named values when
    every feature names one, else the largest group.
    """
    names, sizes = grouping.features, grouping.sizes
    wanted = [str(reference.get(n, "largest")) for n in names]
    if len(names) == 1 and wanted[0].startswith("best:"):
        metric = wanted[0].split(":", 1)[1]
        if metric not in best:
            raise AuditInputError(
                f"Unknown metric '{metric}' in reference 'best:{metric}' for '{names[0]}'. For this task use "
                f"one of: {', '.join(best)}.")
        scores = np.asarray(best[metric], dtype=float).copy()
        scores[(sizes < min_group_size) & (sizes < sizes.max())] = np.nan
        return (int(np.argmax(sizes)) if np.isnan(scores).all() else int(np.nanargmax(scores))), None
    if any(w == "largest" or w.startswith("best:") for w in wanted):
        return int(np.argmax(sizes)), None
    mask = np.ones(len(sizes), dtype=bool)
    for n, w in zip(names, wanted, strict=True):
        mask &= grouping.values[n].astype(str).to_numpy() == w
    if mask.any():
        return int(np.flatnonzero(mask)[0]), None
    if len(names) == 1:
        raise AuditInputError(
            f"The reference group '{wanted[0]}' does not occur in '{names[0]}'. Its groups are: "
            f"{', '.join(map(str, grouping.values[names[0]].tolist()[:20]))}.")
    return int(np.argmax(sizes)), (
        f"The intersection of the reference groups ({GROUP_SEPARATOR.join(wanted)}) has no rows; the largest "
        f"group of {' × '.join(names)} is the reference instead.")
