"""Group and intersectional metrics of a multiclass classifier, class by class, with intervals.

Per group and class ``c`` (classes are compared as text): ``class_rate:c`` (share of the group assigned
``c``), one-vs-rest ``tpr:c`` (recall), ``fpr:c`` and ``precision:c``; and ``accuracy``. Every one is a
proportion of counts from the group's confusion matrix, so its interval is the one rates use (Wilson with
exact ends, :func:`auditapp.core.intervals.proportion_interval`), and a disparity against the reference group has
the Miettinen–Nurminen score intervals of the binary audit. ``impact_ratio:c`` is a group's rate of ``c``
divided by the highest group's rate of ``c`` (the four-fifths rule applied class by class, as NYC Local
Law 144 tables do). Macro summaries average over classes and are named ``macro_*`` (an average of
per-class values, not a pooled rate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.defaults import MIN_GROUP_SIZE
from auditapp.core.errors import AuditInputError
from auditapp.core.intervals import diff_interval, proportion_interval, ratio_interval, z_value
from auditapp.core.metrics import find_grouping
from auditapp.core.task_groups import pick_reference, row_groupings
from auditapp.core.tasks import MAX_CLASSES

__all__ = ["PER_CLASS", "MulticlassGrouping", "MulticlassResult", "compute_multiclass_audit", "class_metric_names"]

PER_CLASS = ("class_rate", "tpr", "fpr", "precision")


def class_metric_names(classes: Sequence[str]) -> list[str]:
    """Metric keys in result order: ``accuracy`` then ``<metric>:<class>`` for every class."""
    return ["accuracy"] + [f"{m}:{c}" for c in classes for m in PER_CLASS]


@dataclass(frozen=True)
class MulticlassGrouping:
    """One grouping's per-class metrics.

    ``groups``: indexed by group label; feature columns, ``count``, ``is_reference``, ``flags``, every metric
    of :func:`class_metric_names` with ``_low``/``_high``, ``impact_ratio:<c>`` and ``macro_tpr``,
    ``macro_fpr``, ``macro_precision``. ``confusion``: group label → DataFrame of counts (rows: true class,
    columns: predicted class). ``disparities``: one row per (group, metric) against the reference with
    ``difference``/``ratio`` and intervals. ``summary``: per metric, max−min and min÷max across groups.
    ``criteria``: ``value`` per named criterion (lowest impact ratio over classes, largest per-class TPR and
    FPR gaps, and their macro averages).
    """

    features: tuple[str, ...]
    reference: str
    classes: tuple[str, ...]
    groups: pd.DataFrame
    confusion: dict[str, pd.DataFrame]
    disparities: pd.DataFrame
    summary: pd.DataFrame
    criteria: pd.DataFrame

    @property
    def name(self) -> str:
        return " × ".join(self.features)

    def normalized_confusion(self, label: str) -> pd.DataFrame:
        """The group's confusion matrix with each true class's row divided by its total (NaN for an empty row)."""
        counts = self.confusion[label]
        totals = counts.sum(axis=1).replace(0, np.nan)
        return counts.div(totals, axis=0)


@dataclass(frozen=True)
class MulticlassResult:
    groupings: tuple[MulticlassGrouping, ...]
    classes: tuple[str, ...]
    n_rows: int
    confidence: float
    min_group_size: int
    notices: tuple[str, ...] = ()

    def grouping(self, *features: str) -> MulticlassGrouping:
        return find_grouping(self.groupings, features)


def compute_multiclass_audit(y_true: ArrayLike, y_pred: ArrayLike, sensitive_features: pd.DataFrame, *,
                             classes: Sequence[str] | None = None, reference: Mapping[str, str] | None = None,
                             min_group_size: int = MIN_GROUP_SIZE, confidence: float = 0.95,
                             intersections: bool = True) -> MulticlassResult:
    """Per-group, per-class rates with intervals, confusion matrices and per-class disparities.

    ``classes`` fixes the class order (as text; default: every value seen, sorted). Raises AuditInputError
    when lengths differ, there are no rows, or a label is not one of ``classes``.
    """
    truth = pd.Series(np.asarray(y_true, dtype=object)).astype(str).to_numpy()
    pred = pd.Series(np.asarray(y_pred, dtype=object)).astype(str).to_numpy()
    frame = pd.DataFrame(sensitive_features).reset_index(drop=True)
    if not (len(truth) == len(pred) == len(frame)):
        raise AuditInputError(f"Labels ({len(truth)}), predictions ({len(pred)}) and sensitive features "
                              f"({len(frame)}) must have the same number of rows.")
    if len(truth) == 0:
        raise AuditInputError("The dataset has no rows to audit.")
    classes = tuple(str(c) for c in classes) if classes is not None else tuple(sorted(set(truth) | set(pred)))
    if len(classes) > MAX_CLASSES:
        raise AuditInputError(f"The labels and predictions hold {len(classes):,} classes; at most {MAX_CLASSES} can be "
                              "audited class by class. Group the classes first.")
    index = {c: i for i, c in enumerate(classes)}
    codes = []
    for what, values in (("labels", truth), ("predictions", pred)):
        unknown = sorted(set(values) - set(classes))
        if unknown:
            raise AuditInputError(f"The {what} hold {', '.join(unknown[:10])}, which are not among the classes "
                                  f"{', '.join(classes)}. Map them to those classes.")
        codes.append(np.array([index[v] for v in pd.unique(values)])[pd.factorize(values)[0]])
    k = len(classes)
    z = z_value(confidence)
    notices: list[str] = []
    parts = []
    for grouping in row_groupings(frame, intersections=intersections):
        cells = np.bincount(grouping.codes * k * k + codes[0] * k + codes[1],
                            minlength=len(grouping.labels) * k * k).reshape(-1, k, k)
        parts.append(_grouping(grouping, cells, classes, dict(reference or {}), z=z, min_group_size=min_group_size,
                               notices=notices))
    return MulticlassResult(tuple(parts), classes, int(len(truth)), float(confidence), int(min_group_size),
                            tuple(notices))


def _counts(cells: np.ndarray, classes: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metric → (numerator, denominator) per group, from confusion cells ``(G, K, K)`` (true, predicted)."""
    n = cells.sum(axis=(1, 2))
    diag = np.einsum("gkk->gk", cells)
    true_tot, pred_tot = cells.sum(axis=2), cells.sum(axis=1)
    out = {"accuracy": (diag.sum(axis=1), n)}
    for j, c in enumerate(classes):
        out[f"class_rate:{c}"] = (pred_tot[:, j], n)
        out[f"tpr:{c}"] = (diag[:, j], true_tot[:, j])
        out[f"fpr:{c}"] = (pred_tot[:, j] - diag[:, j], n - true_tot[:, j])
        out[f"precision:{c}"] = (diag[:, j], pred_tot[:, j])
    return out


def _grouping(grouping: Any, cells: np.ndarray, classes: Sequence[str], reference: Mapping[str, str], *,
              z: float | np.ndarray,
              min_group_size: int, notices: list[str]) -> MulticlassGrouping:
    labels, sizes = grouping.labels, grouping.sizes
    counts = _counts(cells, classes)
    columns: dict[str, object] = {f: grouping.values[f].to_numpy() for f in grouping.features}
    columns["count"] = sizes
    point = {}
    for metric, (x, n) in counts.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            point[metric] = np.where(n > 0, x / np.maximum(n, 1), np.nan)
        columns[metric] = point[metric]
        columns[f"{metric}_low"], columns[f"{metric}_high"] = proportion_interval(x, n, z)
    for c in classes:
        rate = point[f"class_rate:{c}"]
        top = np.nanmax(rate) if np.any(rate > 0) else np.nan
        columns[f"impact_ratio:{c}"] = rate / top if top == top else np.full(rate.shape, np.nan)
    for m in ("tpr", "fpr", "precision"):
        stacked = np.column_stack([point[f"{m}:{c}"] for c in classes])
        finite = np.isfinite(stacked)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"macro_{m}"] = np.where(finite.any(axis=1), np.where(finite, stacked, 0.0).sum(axis=1)
                                             / finite.sum(axis=1), np.nan)
    groups = pd.DataFrame(columns, index=pd.Index(list(labels), name="group"))
    ref, notice = pick_reference(grouping, reference, best={"accuracy": point["accuracy"]},
                                 min_group_size=min_group_size)
    if notice:
        notices.append(notice)
    groups["is_reference"] = np.arange(len(labels)) == ref
    groups["flags"] = [("small_group",) if s < min_group_size else () for s in sizes]
    confusion = {label: pd.DataFrame(cells[g], index=pd.Index(classes, name="true"),
                                     columns=pd.Index(classes, name="predicted")) for g, label in enumerate(labels)}
    disparities = _disparities(labels, counts, point, ref, z)
    summary, criteria = _summary(groups, point, classes, min_group_size)
    return MulticlassGrouping(grouping.features, labels[ref], tuple(classes), groups, confusion, disparities,
                              summary, criteria)


def _disparities(labels: Sequence[str], counts: dict[str, tuple[np.ndarray, np.ndarray]],
                 point: dict[str, np.ndarray], ref: int, z: float | np.ndarray) -> pd.DataFrame:
    others = np.array([g for g in range(len(labels)) if g != ref], dtype=np.int64)
    frames = []
    for metric, (x, n) in counts.items():
        if others.size == 0:
            break
        x1, n1 = x[others].astype(float), n[others].astype(float)
        x2, n2 = np.full(others.size, float(x[ref])), np.full(others.size, float(n[ref]))
        d_low, d_high = diff_interval(x1, n1, x2, n2, z)
        r_low, r_high = ratio_interval(x1, n1, x2, n2, z)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = point[metric][others] / point[metric][ref]
        frames.append(pd.DataFrame({
            "group": [labels[g] for g in others], "metric": metric,
            "difference": point[metric][others] - point[metric][ref], "difference_low": d_low,
            "difference_high": d_high, "ratio": np.where(np.isfinite(ratio), ratio, np.nan),
            "ratio_low": r_low, "ratio_high": r_high}))
    columns = ["group", "metric", "difference", "difference_low", "difference_high", "ratio", "ratio_low", "ratio_high"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _summary(groups: pd.DataFrame, point: dict[str, np.ndarray], classes: Sequence[str], min_group_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    keep = groups["count"].to_numpy() >= min_group_size
    if keep.sum() < 2:  # too few sizeable groups: compare all of them rather than none
        keep = np.ones(len(groups), dtype=bool)
    rows = {}
    for metric, value in point.items():
        v = value[keep]
        v = v[np.isfinite(v)]
        spread = float(v.max() - v.min()) if v.size >= 2 else np.nan
        ratio = float(v.min() / v.max()) if v.size >= 2 and v.max() > 0 else np.nan
        rows[metric] = (spread, ratio)
    summary = pd.DataFrame.from_dict(rows, orient="index", columns=["max_minus_min", "min_over_max"]).rename_axis("metric")
    impact = groups.loc[keep, [f"impact_ratio:{c}" for c in classes]].to_numpy(dtype=float)
    tpr_gaps = np.array([rows[f"tpr:{c}"][0] for c in classes])
    fpr_gaps = np.array([rows[f"fpr:{c}"][0] for c in classes])
    rate_gaps = np.array([rows[f"class_rate:{c}"][0] for c in classes])
    criteria = {
        "min_impact_ratio": _finite(impact, np.min),
        "max_class_rate_gap": _finite(rate_gaps, np.max),
        "max_tpr_gap": _finite(tpr_gaps, np.max),
        "max_fpr_gap": _finite(fpr_gaps, np.max),
        "macro_tpr_gap": _finite(tpr_gaps, np.mean),
        "macro_fpr_gap": _finite(fpr_gaps, np.mean),
        "accuracy_gap": rows["accuracy"][0],
    }
    return summary, pd.DataFrame({"value": pd.Series(criteria)}).rename_axis("criterion")


def _finite(values: np.ndarray, reduce: Callable[[np.ndarray], Any]) -> float:
    """``reduce`` over the finite values (NaN when there are none: one group, or rates undefined everywhere)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(reduce(values)) if values.size else float("nan")
