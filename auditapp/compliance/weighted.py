"""Rates with probabilistic group membership (e.g. BISG probabilities), and assignment at a cut-off.

Each row i belongs to group g with probability ``p_ig`` (rows sum to 1). Every count is weighted rather
than assigned: a group's size is ``n_g = Σ_i p_ig``, its selections ``Σ_i p_ig ŷ_i``, so its selection
rate is ``Σ p_ig ŷ_i / Σ p_ig``; with true outcomes, its true positive rate is
``Σ p_ig ŷ_i y_i / Σ p_ig y_i`` and its false positive rate ``Σ p_ig ŷ_i (1 − y_i) / Σ p_ig (1 − y_i)``;
with a numeric value (a price, a score), its mean is ``m_g = Σ p_ig v_i / Σ p_ig``, its variance
``Σ p_ig v_i² / Σ p_ig − m_g²`` and its standardized mean difference against the comparison group c
``(m_g − m_c) / sqrt((var_g + var_c) / 2)``. Ratios compare each group
with a control group (or the highest rate). Intervals come from a bootstrap over rows (percentile,
seeded): rows are drawn with replacement and every weighted sum recomputed.

Rows without probabilities (no surname or geography matched) are not guessed: they are counted and left
out, and the result says how many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.defaults import N_BOOT
from auditapp.core.errors import AuditInputError

BOOTSTRAP_CHUNK = 32
ASSIGNMENT_BIAS = (
    "Assigning each person to their most likely group is known to bias disparity estimates: people "
    "assigned to the wrong group dilute every group's rate, which usually shrinks measured disparities "
    "toward zero (CFPB 2014; Zhang 2018; Elzayn et al. 2023), and everyone below the cut-off is left out, "
    "which is not random. The weighted estimates are the recommended ones.")


@dataclass(frozen=True)
class WeightedRates:
    """Per-group weighted sizes, rates, ratios and bootstrap intervals.

    ``table`` is indexed by group with columns ``n`` (Σp), ``selected``, ``selection_rate`` (+ ``_low``,
    ``_high``), ``ratio`` (to the comparison group, + interval) and, when given, ``tpr``, ``fpr``,
    ``mean`` (+ intervals).
    """

    table: pd.DataFrame
    comparison: str
    rows_used: int
    rows_without_probabilities: int
    n_boot: int
    confidence: float
    seed: int


def validated_membership(membership: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities of the usable rows, mask of usable rows)``: rows with NaN are left out.

    Raises
    ------
    AuditInputError
        If probabilities are negative, above 1, or a complete row does not sum to 1 (within 1e-6).
    """
    values = membership.to_numpy(dtype=np.float64)
    complete = ~np.isnan(values).any(axis=1)
    used = values[complete]
    if used.size and ((used < -1e-12).any() or (used > 1 + 1e-12).any()):
        raise AuditInputError("Group probabilities must lie between 0 and 1.")
    sums = used.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > 1e-6)
    if off.size:
        raise AuditInputError(f"{off.size} rows' group probabilities do not sum to 1 (e.g. row "
                              f"{int(np.flatnonzero(complete)[off[0]])} sums to {sums[off[0]]:.4f}).")
    return used, complete


def _sums(weights: np.ndarray, p: np.ndarray, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Σ_i w_i p_ig c_i for every column c (w: row weights, possibly bootstrap counts)."""
    wp = weights[:, None] * p if weights.ndim == 1 else None
    if wp is not None:
        return {k: (wp * v[:, None]).sum(axis=0) for k, v in columns.items()}
    return {k: weights @ (p * v[:, None]) for k, v in columns.items()}


def _stats(sums: dict[str, np.ndarray], comparison: int) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"selection_rate": sums["sel"] / sums["n"]}
        ref = out["selection_rate"][..., comparison]
        out["ratio"] = out["selection_rate"] / ref[..., None]
        if "pos" in sums:
            out["tpr"] = sums["tp"] / sums["pos"]
            out["fpr"] = sums["fp"] / sums["neg"]
        if "val" in sums:
            mean = sums["val"] / sums["n"]
            var = np.maximum(sums["val2"] / sums["n"] - mean**2, 0.0)
            out["mean"] = mean
            out["smd"] = (mean - mean[..., comparison][..., None]) / np.sqrt(
                (var + var[..., comparison][..., None]) / 2)
    return out


def weighted_rates(membership: pd.DataFrame, y_pred: ArrayLike, *, y_true: ArrayLike | None = None,
                   values: ArrayLike | None = None, control: str | None = None,
                   confidence: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> WeightedRates:
    """Weighted per-group rates with bootstrap intervals.

    Parameters
    ----------
    membership : pandas.DataFrame
        One column per group, one row per person, probabilities summing to 1 (NaN rows left out).
    y_pred : array-like of 0/1
        The decision (1 = selected / approved).
    y_true : array-like of 0/1, optional
        True outcomes, for the weighted true and false positive rates.
    values : array-like of float, optional
        A numeric outcome (price, score) for weighted means.
    control : str, optional
        The comparison group for the ratios; the group with the highest weighted rate when omitted.
    confidence, n_boot, seed
        Percentile bootstrap over rows.

    Raises
    ------
    AuditInputError
        For bad probabilities, decisions that are not 0/1, lengths that differ or an unknown control group.
    """
    p_all, usable = validated_membership(membership)
    n_rows = len(membership)
    columns = {"n": np.ones(n_rows), "sel": _binary(y_pred, "decisions", n_rows)}
    if y_true is not None:
        y = _binary(y_true, "true outcomes", n_rows)
        columns.update(pos=y, neg=1 - y, tp=columns["sel"] * y, fp=columns["sel"] * (1 - y))
    if values is not None:
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
        if len(v) != n_rows or np.isnan(v).any():
            raise AuditInputError("The numeric outcome must have one number for every row (no empty cells).")
        columns["val"], columns["val2"] = v, v * v
    columns = {k: c[usable] for k, c in columns.items()}
    groups = [str(c) for c in membership.columns]
    if not len(p_all):
        raise AuditInputError("No row has group probabilities, so nothing can be estimated.")
    point_sums = _sums(np.ones(len(p_all)), p_all, columns)
    rates = point_sums["sel"] / point_sums["n"]
    if control is None:
        comparison = int(np.nanargmax(rates))
    elif str(control) in groups:
        comparison = groups.index(str(control))
    else:
        raise AuditInputError(f"The control group '{control}' is not one of {', '.join(groups)}.")
    point = _stats(point_sums, comparison)
    boot = _bootstrap(p_all, columns, comparison, n_boot=n_boot, seed=seed)
    alpha = (1 - confidence) / 2
    table = pd.DataFrame({"n": point_sums["n"], "selected": point_sums["sel"]}, index=pd.Index(groups, name="group"))
    for name, value in point.items():
        table[name] = value
        if boot:
            draws = boot[name]
            with np.errstate(invalid="ignore"):
                table[f"{name}_low"] = np.nanquantile(draws, alpha, axis=0) if n_boot else np.nan
                table[f"{name}_high"] = np.nanquantile(draws, 1 - alpha, axis=0) if n_boot else np.nan
    return WeightedRates(table=table, comparison=groups[comparison], rows_used=int(usable.sum()),
                         rows_without_probabilities=int(n_rows - usable.sum()), n_boot=n_boot,
                         confidence=confidence, seed=seed)


def _binary(values: ArrayLike, what: str, n_rows: int) -> np.ndarray:
    series = pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="coerce")
    if len(series) != n_rows:
        raise AuditInputError(f"The {what} have {len(series)} rows, the probabilities {n_rows}.")
    if series.isna().any() or not series.isin([0, 1]).all():
        raise AuditInputError(f"The {what} must be 0 or 1 for every row.")
    return np.asarray(series.to_numpy(dtype=np.float64), dtype=np.float64)


def _bootstrap(p: np.ndarray, columns: dict[str, np.ndarray], comparison: int, *, n_boot: int,
               seed: int) -> dict[str, np.ndarray]:
    if n_boot <= 0:
        return {}
    rng = np.random.default_rng(seed)
    n = len(p)
    pieces: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < n_boot:
        size = min(BOOTSTRAP_CHUNK, n_boot - done)
        counts = np.stack([np.bincount(rng.integers(0, n, size=n), minlength=n) for _ in range(size)]).astype(np.float64)
        for name, value in _stats(_sums(counts, p, columns), comparison).items():
            pieces.setdefault(name, []).append(value)
        done += size
    return {k: np.concatenate(v) for k, v in pieces.items()}


@dataclass(frozen=True)
class Assignment:
    """Each row's most likely group when its probability reaches the cut-off (None otherwise)."""

    groups: pd.Series
    cutoff: float
    unassigned: int
    bias_statement: str


def assign_groups(membership: pd.DataFrame, *, cutoff: float) -> Assignment:
    """Assign each row to its most likely group if that probability is at least ``cutoff``.

    Offered for comparison only, with its known bias stated (``ASSIGNMENT_BIAS``).
    """
    if not 0 < cutoff <= 1:
        raise AuditInputError(f"The cut-off must be above 0 and at most 1, not {cutoff}.")
    values = membership.to_numpy(dtype=np.float64)
    complete = ~np.isnan(values).any(axis=1)
    best = np.where(complete[:, None], values, -1).argmax(axis=1)
    top = np.where(complete, values[np.arange(len(values)), best], np.nan)
    labels = np.asarray([str(c) for c in membership.columns], dtype=object)[best]
    chosen = complete & (top >= cutoff)
    groups = pd.Series(np.where(chosen, labels, None), index=membership.index, dtype=object)
    unassigned = int((~chosen).sum())
    statement = (f"{ASSIGNMENT_BIAS} Here {unassigned:,} of {len(values):,} rows "
                 f"({100 * unassigned / max(len(values), 1):.1f}%) are below the cut-off {cutoff:g} or have no "
                 "probabilities and are left out.")
    return Assignment(groups=groups, cutoff=cutoff, unassigned=unassigned, bias_statement=statement)
