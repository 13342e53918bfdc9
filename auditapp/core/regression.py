"""Group and intersectional metrics of a regression model (prices, amounts, scores), with intervals.

Per group: ``count``, ``mean_outcome``, ``mean_prediction``, ``mean_error`` (prediction − outcome: above 0
the group is over-estimated), ``mean_absolute_error``, ``root_mean_squared_error``, ``r2`` and the residual
quantiles ``residual_q10/q50/q90``. Point values are computed on the group's rows as scikit-learn computes
them; intervals come from a bootstrap over rows within groups (:mod:`auditapp.core.bootstrap_sums`): expanded
percentile intervals, except RMSE's, a bootstrap-t of log(MSE) (:func:`studentized_rmse_interval`; a group
under ``RMSE_INTERVAL_ROWS`` rows is flagged ``rmse_interval_approximate``); residual quantiles from order
statistics (distribution-free). Against the reference group: difference and ratio of
every metric, the **standardized mean difference** of predictions (Cohen's d, pooled SD with n−1) and the
Kolmogorov–Smirnov distance between the groups' prediction distributions (p-value: asymptotic). Across groups: max−min and
min÷max; ``criteria`` holds what policies check (worst MAE ÷ best MAE, largest |SMD|, largest KS distance,
spread of mean errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from auditapp.core.bootstrap_sums import (
    MIN_ROWS,
    expanded_levels,
    percentile_interval,
    replicate_sums,
)
from auditapp.core.defaults import MIN_GROUP_SIZE, N_BOOT
from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import find_grouping
from auditapp.core.task_groups import RowGrouping, pick_reference, row_groupings

__all__ = ["REGRESSION_METRICS", "RESIDUAL_QUANTILES", "RegressionGrouping", "RegressionResult",
           "compute_regression_audit"]

REGRESSION_METRICS = ("mean_outcome", "mean_prediction", "mean_error", "mean_absolute_error",
                      "root_mean_squared_error", "r2")
RESIDUAL_QUANTILES = {"residual_q10": 0.1, "residual_q50": 0.5, "residual_q90": 0.9}
# Below this many rows the RMSE interval covers less than it claims when errors are skewed and heavy-tailed
# (87-91% at 10-150 rows in bench/coverage_regression.py; 94-96% from 10 rows with normal errors): flagged.
RMSE_INTERVAL_ROWS = 200
_BEST = {"mean_absolute_error": -1.0, "root_mean_squared_error": -1.0, "r2": 1.0}
# a ratio means something only for quantities that cannot change sign (not for mean error or R²)
_RATIO_METRICS = ("mean_outcome", "mean_prediction", "mean_absolute_error", "root_mean_squared_error")


@dataclass(frozen=True)
class RegressionGrouping:
    """One grouping's regression metrics.

    ``groups``: indexed by group label; the feature columns, ``count``, ``is_reference``, ``flags`` and for
    every metric ``m`` (and residual quantile) ``m``, ``m_low``, ``m_high``, plus
    ``standardized_mean_difference`` (+ ``_low``/``_high``), ``ks_distance``, ``ks_p_value`` and
    ``mae_ratio_to_best`` (+ interval). ``disparities``: one row per (group, metric) against the reference:
    ``difference``/``ratio`` with intervals. ``summary``: per metric, ``max_minus_min`` and
    ``min_over_max`` with intervals. ``criteria``: ``value``, ``low``, ``high`` per named criterion.
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


@dataclass(frozen=True)
class RegressionResult:
    """Every grouping's regression metrics and the settings that produced them."""

    groupings: tuple[RegressionGrouping, ...]
    n_rows: int
    confidence: float
    n_boot: int
    seed: int
    min_group_size: int
    notices: tuple[str, ...] = ()

    def grouping(self, *features: str) -> RegressionGrouping:
        return find_grouping(self.groupings, features)


def compute_regression_audit(y_true: ArrayLike, y_pred: ArrayLike, sensitive_features: pd.DataFrame, *,
                             reference: Mapping[str, str] | None = None,
                             min_group_size: int = MIN_GROUP_SIZE, n_boot: int = N_BOOT, confidence: float = 0.95,
                             seed: int = 0, intersections: bool = True) -> RegressionResult:
    """Per-group regression metrics with bootstrap intervals, disparities, SMD and KS distances.

    Parameters
    ----------
    y_true, y_pred : array-like of float
        Outcomes and predictions (finite numbers; see ``tasks.numeric_target`` for checked conversion).
    sensitive_features : DataFrame
        One text column per sensitive feature (as ``spec.sensitive_frame`` gives).
    reference : dict, optional
        Feature → value, ``largest`` (default) or ``best:mean_absolute_error|root_mean_squared_error|r2``.

    Raises
    ------
    AuditInputError
        If lengths differ, there are no rows, or a value is not a finite number.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    frame = pd.DataFrame(sensitive_features).reset_index(drop=True)
    if not (len(y_true) == len(y_pred) == len(frame)):
        raise AuditInputError(f"Outcomes ({len(y_true)}), predictions ({len(y_pred)}) and sensitive features "
                              f"({len(frame)}) must have the same number of rows.")
    if len(y_true) == 0:
        raise AuditInputError("The dataset has no rows to audit.")
    for what, values in (("outcomes", y_true), ("predictions", y_pred)):
        if not np.all(np.isfinite(values)):
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise AuditInputError(f"The {what} must be finite numbers, but row {row + 1} holds {values[row].item()!r}.")
    if int(n_boot) < 100:
        raise AuditInputError(f"n_boot must be at least 100 for percentile intervals, got {n_boot}.")
    notices: list[str] = []
    parts = [_grouping(g, y_true, y_pred, dict(reference or {}), min_group_size=min_group_size,
                       n_boot=int(n_boot), confidence=confidence, rng=np.random.default_rng([int(seed), i]),
                       notices=notices)
             for i, g in enumerate(row_groupings(frame, intersections=intersections))]
    return RegressionResult(tuple(parts), int(len(y_true)), float(confidence), int(n_boot), int(seed),
                            int(min_group_size), tuple(notices))


def _point(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    e = p - y
    total = float(np.sum((y - np.mean(y)) ** 2))
    out = {"mean_outcome": float(np.mean(y)), "mean_prediction": float(np.mean(p)), "mean_error": float(np.mean(e)),
           "mean_absolute_error": float(np.mean(np.abs(e))),
           "root_mean_squared_error": float(np.sqrt(np.mean(e ** 2))),
           "r2": 1.0 - float(np.sum(e ** 2)) / total if total > 0 else float("nan")}
    for key, q in RESIDUAL_QUANTILES.items():
        out[key] = float(np.quantile(e, q))
    return out


def binomial_quantile(alpha: float, n: int, q: float) -> int:
    """The smallest k with P(Binomial(n, q) <= k) >= alpha (scipy's ``binom.ppf``), searched near n·q."""
    sd = np.sqrt(n * q * (1.0 - q))
    ks = np.arange(max(0, int(n * q - 10 * sd) - 2), min(n, int(n * q + 10 * sd) + 3) + 1)
    cdf = np.where(ks >= n, 1.0, special.bdtr(np.minimum(ks, n - 1), n, q))
    return int(ks[min(int(np.searchsorted(cdf, alpha - 1e-12)), ks.size - 1)])


def _quantile_interval(sorted_e: np.ndarray, q: float, confidence: float) -> tuple[float, float]:
    """Distribution-free interval for a quantile: order statistics at binomial ranks (NaN when n is too small)."""
    n = sorted_e.size
    if n < MIN_ROWS:
        return float("nan"), float("nan")
    alpha = 1.0 - confidence
    lo = binomial_quantile(alpha / 2.0, n, q)
    hi = binomial_quantile(1.0 - alpha / 2.0, n, q) + 1
    if lo < 1 or hi > n:
        return float("nan"), float("nan")
    return float(sorted_e[lo - 1]), float(sorted_e[hi - 1])


def ks_two_sample(a_sorted: np.ndarray, b_sorted: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov distance (as scipy's ``ks_2samp``) and its asymptotic p-value."""
    both = np.concatenate([a_sorted, b_sorted])
    gap = np.abs(np.searchsorted(a_sorted, both, side="right") / a_sorted.size
                 - np.searchsorted(b_sorted, both, side="right") / b_sorted.size)
    d = float(gap.max())
    en = a_sorted.size * b_sorted.size / (a_sorted.size + b_sorted.size)
    return d, float(min(1.0, special.kolmogorov(np.sqrt(en) * d)))


def _log_mse_and_se(n: np.ndarray, s2: np.ndarray, s4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log of the mean squared error and its standard error (delta method: sd of e² / (√n · MSE))."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = s2 / n
        variance = (s4 - n * mse * mse) / (n - 1.0)
        return np.log(mse), np.sqrt(np.maximum(variance, 0.0) / n) / mse


def studentized_rmse_interval(sizes: ArrayLike, point_sums: np.ndarray, rep_n: np.ndarray, rep_sums: np.ndarray,
                              confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """RMSE intervals from the bootstrap-t of log(MSE) per group (NaN below ``MIN_ROWS`` rows or when the
    errors are all zero).

    The squared error is skewed and heavy-tailed, so the percentile bootstrap of √MSE misses the truth far
    more often than it claims in groups of tens or hundreds of rows (73% at 10 rows, 88% at 200 in
    ``bench/coverage_regression.py``). Studentizing on the log scale corrects for the skew (second-order
    accurate): each replicate's ``t* = (log MSE* − log MSE) / se*``, with ``se`` the delta-method standard
    error from the sums of e² and e⁴; the interval is ``log MSE − t*_{hi}·se … log MSE − t*_{lo}·se``, at
    the expanded percentile levels (:func:`~auditapp.core.bootstrap_sums.expanded_levels`), mapped back by ``√exp``.

    ``point_sums`` is ``(G, 2)`` (sums of e² and e⁴ per group), ``rep_sums`` ``(B, G, 2)``.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    center, scale = _log_mse_and_se(sizes, point_sums[:, 0], point_sums[:, 1])
    rep_center, rep_scale = _log_mse_and_se(rep_n, rep_sums[..., 0], rep_sums[..., 1])
    low, high = np.full(sizes.shape, np.nan), np.full(sizes.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (rep_center - center) / rep_scale
    for g in np.flatnonzero((sizes >= MIN_ROWS) & np.isfinite(center) & np.isfinite(scale) & (scale > 0)):
        finite = t[:, g][~np.isnan(t[:, g])]
        if finite.size < 0.9 * t.shape[0]:
            continue
        lo_level, hi_level = expanded_levels(sizes[g], confidence)
        t_low, t_high = np.quantile(finite, [float(lo_level), float(hi_level)])
        low[g] = np.sqrt(np.exp(center[g] - t_high * scale[g]))
        high[g] = np.sqrt(np.exp(center[g] - t_low * scale[g]))
    return low, high


def _replicate_metrics(n: np.ndarray, s: np.ndarray, means_y: np.ndarray,
                       means_p: np.ndarray) -> dict[str, np.ndarray]:
    sy, sp, se, sa, see, syy, spp = (s[..., j] for j in range(7))
    with np.errstate(invalid="ignore", divide="ignore"):
        total = syy - sy * sy / n
        return {"mean_outcome": means_y + sy / n, "mean_prediction": means_p + sp / n, "mean_error": se / n,
                "mean_absolute_error": sa / n, "root_mean_squared_error": np.sqrt(see / n),
                "r2": np.where(total > 0, 1.0 - see / total, np.nan),
                "_var_p": (spp - sp * sp / n) / (n - 1.0)}


def _grouping(grouping: RowGrouping, y: np.ndarray, p: np.ndarray, reference: dict[str, str], *, min_group_size: int,
              n_boot: int, confidence: float, rng: np.random.Generator, notices: list[str]) -> RegressionGrouping:
    codes, sizes, labels = grouping.codes, grouping.sizes, grouping.labels
    n_groups = len(labels)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    slices = [order[bounds[g]:bounds[g + 1]] for g in range(n_groups)]
    points = [_point(y[rows], p[rows]) for rows in slices]
    table = pd.DataFrame(points)
    means_y, means_p = table["mean_outcome"].to_numpy(), table["mean_prediction"].to_numpy()
    e = p - y
    yc, pc = y - means_y[codes], p - means_p[codes]
    squared = e * e
    summed = (yc, pc, e, np.abs(e), squared, yc * yc, pc * pc, squared * squared)
    rep_n, rep_s = replicate_sums(summed, codes, n_groups, n_boot=n_boot, rng=rng)
    reps = _replicate_metrics(rep_n, rep_s, means_y, means_p)
    columns: dict[str, object] = {f: grouping.values[f].to_numpy() for f in grouping.features}
    columns["count"] = sizes
    for metric in REGRESSION_METRICS:
        columns[metric] = table[metric].to_numpy()
        columns[f"{metric}_low"], columns[f"{metric}_high"] = percentile_interval(reps[metric], sizes, confidence)
    point_sums = np.stack([np.bincount(codes, weights=c, minlength=n_groups) for c in (squared, squared * squared)],
                          axis=-1)
    columns["root_mean_squared_error_low"], columns["root_mean_squared_error_high"] = studentized_rmse_interval(
        sizes, point_sums, rep_n, rep_s[..., [4, 7]], confidence)
    for key, q in RESIDUAL_QUANTILES.items():
        bounds_q = [_quantile_interval(np.sort(e[rows]), q, confidence) for rows in slices]
        columns[key] = table[key].to_numpy()
        columns[f"{key}_low"] = np.array([b[0] for b in bounds_q])
        columns[f"{key}_high"] = np.array([b[1] for b in bounds_q])
    groups = pd.DataFrame(columns, index=pd.Index(list(labels), name="group"))
    best = {m: sign * groups[m].to_numpy(dtype=float) for m, sign in _BEST.items()}
    ref, notice = pick_reference(grouping, reference, best=best, min_group_size=min_group_size)
    if notice:
        notices.append(notice)
    groups["is_reference"] = np.arange(n_groups) == ref
    groups["flags"] = [_flags(int(n), points[g]) for g, n in enumerate(sizes)]
    _add_smd_ks(groups, slices, p, reps, ref, rep_n, confidence)
    _add_ratio_to_best(groups, reps, confidence)
    disparities = _disparities(groups, reps, ref, confidence)
    summary = _summary(groups, reps, confidence)
    criteria = _criteria(groups, summary, reps, confidence)
    return RegressionGrouping(grouping.features, labels[ref], groups, disparities, summary, criteria)


def _flags(n: int, point: dict[str, float]) -> tuple[str, ...]:
    flags = []
    if n < MIN_ROWS:
        flags.append("too_few_for_intervals")
    elif n < RMSE_INTERVAL_ROWS:
        flags.append("rmse_interval_approximate")
    if np.isnan(point["r2"]):
        flags.append("constant_outcome")
    return tuple(flags)


def _smd(mean_g: np.ndarray, mean_r: np.ndarray, var_g: np.ndarray, var_r: np.ndarray, n_g: np.ndarray,
         n_r: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt(((n_g - 1.0) * var_g + (n_r - 1.0) * var_r) / (n_g + n_r - 2.0))
        return np.where(pooled > 0, (mean_g - mean_r) / pooled, np.nan)


def _add_smd_ks(groups: pd.DataFrame, slices: list[np.ndarray], p: np.ndarray, reps: dict[str, np.ndarray], ref: int,
                rep_n: np.ndarray, confidence: float) -> None:
    sizes = groups["count"].to_numpy(dtype=float)
    var = np.array([np.var(p[rows], ddof=1) if rows.size > 1 else np.nan for rows in slices])
    mean = groups["mean_prediction"].to_numpy()
    groups["standardized_mean_difference"] = _smd(mean, mean[ref], var, var[ref], sizes, sizes[ref])
    rep = _smd(reps["mean_prediction"], reps["mean_prediction"][:, [ref]], reps["_var_p"],
               reps["_var_p"][:, [ref]], rep_n, rep_n[:, [ref]])
    low, high = percentile_interval(rep, np.minimum(sizes, sizes[ref]), confidence)
    low[ref] = high[ref] = np.nan
    groups["standardized_mean_difference_low"], groups["standardized_mean_difference_high"] = low, high
    ks, ks_p = np.full(len(slices), np.nan), np.full(len(slices), np.nan)
    ref_sorted = np.sort(p[slices[ref]])
    for g, rows in enumerate(slices):
        if g != ref and rows.size:
            ks[g], ks_p[g] = ks_two_sample(np.sort(p[rows]), ref_sorted)
    groups["ks_distance"], groups["ks_p_value"] = ks, ks_p


def _add_ratio_to_best(groups: pd.DataFrame, reps: dict[str, np.ndarray], confidence: float) -> None:
    mae = groups["mean_absolute_error"].to_numpy()
    sizes = groups["count"].to_numpy(dtype=float)
    eligible = sizes >= MIN_ROWS
    with np.errstate(invalid="ignore", divide="ignore"):
        best = np.min(mae[eligible]) if eligible.any() else np.nan
        groups["mae_ratio_to_best"] = mae / best
        rep = reps["mean_absolute_error"]
        rep_best = np.min(np.where(eligible, rep, np.inf), axis=1, keepdims=True)
        low, high = percentile_interval(rep / rep_best, sizes, confidence)
    groups["mae_ratio_to_best_low"], groups["mae_ratio_to_best_high"] = low, high


def _disparities(groups: pd.DataFrame, reps: dict[str, np.ndarray], ref: int, confidence: float) -> pd.DataFrame:
    sizes = groups["count"].to_numpy(dtype=float)
    n_pair = np.minimum(sizes, sizes[ref])
    labels = groups.index.to_numpy()
    rows = []
    for metric in REGRESSION_METRICS:
        value = groups[metric].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            diff_low, diff_high = percentile_interval(reps[metric] - reps[metric][:, [ref]], n_pair, confidence)
            positive = metric in _RATIO_METRICS and value[ref] > 0 and np.all(value >= 0)
            ratio = value / value[ref] if positive else np.full(value.shape, np.nan)
            ratio_low, ratio_high = percentile_interval(reps[metric] / reps[metric][:, [ref]], n_pair, confidence)
            if not positive:
                ratio_low, ratio_high = ratio, ratio
        for g in range(len(labels)):
            if g != ref:
                rows.append((labels[g], metric, value[g] - value[ref], diff_low[g], diff_high[g],
                             ratio[g], ratio_low[g], ratio_high[g]))
    return pd.DataFrame(rows, columns=["group", "metric", "difference", "difference_low", "difference_high",
                                       "ratio", "ratio_low", "ratio_high"])


def _summary(groups: pd.DataFrame, reps: dict[str, np.ndarray], confidence: float) -> pd.DataFrame:
    sizes = groups["count"].to_numpy(dtype=float)
    keep = sizes >= MIN_ROWS
    smallest = float(sizes[keep].min()) if keep.any() else 0.0
    rows = {}
    for metric in REGRESSION_METRICS:
        value, rep = groups[metric].to_numpy()[keep], reps[metric][:, keep]
        if value.size < 2:
            rows[metric] = [np.nan] * 6
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.nanmax(value) - np.nanmin(value)
            ratio = np.nanmin(value) / np.nanmax(value) if metric in _RATIO_METRICS and np.nanmin(value) > 0 \
                else np.nan
            s_low, s_high = percentile_interval(rep.max(axis=1) - rep.min(axis=1), smallest, confidence)
            r_low, r_high = percentile_interval(rep.min(axis=1) / rep.max(axis=1), smallest, confidence)
        if np.isnan(ratio):
            r_low = r_high = np.full_like(r_low, np.nan)
        rows[metric] = [float(v) for v in (spread, s_low, s_high, ratio, r_low, r_high)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "max_minus_min", "max_minus_min_low", "max_minus_min_high", "min_over_max", "min_over_max_low",
        "min_over_max_high"]).rename_axis("metric")


def _criteria(groups: pd.DataFrame, summary: pd.DataFrame, reps: dict[str, np.ndarray],
              confidence: float) -> pd.DataFrame:
    keep = groups["count"].to_numpy() >= MIN_ROWS
    smd = groups["standardized_mean_difference"]
    worst = smd.abs()[keep].max() if keep.any() else np.nan
    mae_ratio = groups["mae_ratio_to_best"][keep]
    worst_mae = int(np.argmax(mae_ratio.to_numpy())) if len(mae_ratio) else None
    rows = {
        "mae_ratio_worst_to_best": (mae_ratio.max(), *(groups[f"mae_ratio_to_best_{b}"][keep].iloc[worst_mae]
                                                       if worst_mae is not None else np.nan for b in ("low", "high"))),
        "max_abs_standardized_mean_difference": (worst, np.nan, np.nan),
        "max_ks_distance": (groups["ks_distance"][keep].max() if keep.any() else np.nan, np.nan, np.nan),
        "mean_error_gap": tuple(summary.loc["mean_error", ["max_minus_min", "max_minus_min_low",
                                                          "max_minus_min_high"]]),
    }
    if keep.any() and not np.isnan(worst):
        g = int(np.nanargmax(np.where(keep, smd.abs().to_numpy(), -np.inf)))
        low, high = groups["standardized_mean_difference_low"].iloc[g], groups["standardized_mean_difference_high"].iloc[g]
        ends = sorted((abs(low), abs(high))) if low * high > 0 else [0.0, max(abs(low), abs(high))]
        rows["max_abs_standardized_mean_difference"] = (worst, *ends)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["value", "low", "high"]).rename_axis("criterion")
