"""Fair-lending disparity measures as practised under ECOA / Regulation B.

- Adverse impact ratio of approvals, each group against a chosen control group:
  ``AIR_g = (approved_g / n_g) / (approved_c / n_c)``; and of denials, ``denial_g / denial_c`` (above 1
  is adverse). Intervals: Miettinen–Nurminen score intervals for a ratio of two proportions; rates get
  Wilson intervals (:mod:`auditapp.core.intervals`).
- Standardized mean difference of a price or score: ``SMD_g = (mean_g − mean_c) / s_pooled`` with
  ``s_pooled = sqrt(((n_g − 1)s_g² + (n_c − 1)s_c²) / (n_g + n_c − 2))`` (Cohen's d); interval
  ``SMD ± z · sqrt((n_g + n_c)/(n_g n_c) + SMD²/(2(n_g + n_c)))``. An |SMD| of 0.30 or more is, by a
  convention of fair-lending practice (not a legal threshold), called practically significant.
- Segmented AIR: the same ratios within each value of a segment column (product, region...).

With probabilistic group membership (BISG) the counts are weighted (:mod:`auditapp.compliance.weighted`)
and every interval comes from a bootstrap over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.defaults import N_BOOT
from auditapp.core.errors import AuditInputError

SMD_LINE = 0.30
ALL_SEGMENTS = "(all)"


@dataclass(frozen=True)
class FairLendingResult:
    """Approval and denial AIRs (``air``) and SMDs (``smd``) per segment and group.

    ``air`` columns: segment, group, n, approved, approval_rate (+ _low/_high), air (+ _low/_high),
    denial_rate, denial_air (+ _low/_high), is_control. ``smd`` columns: segment, group, n, mean, sd,
    smd (+ _low/_high), practically_significant, is_control (empty without a numeric outcome).
    """

    air: pd.DataFrame
    smd: pd.DataFrame
    control: str
    confidence: float
    smd_line: float
    interval_method: str
    rows_left_out: int


def _air_counts(segment: str, approved: np.ndarray, groups: pd.Series, control: str, z: float) -> pd.DataFrame:
    from auditapp.core.intervals import proportion_interval, ratio_interval

    table = pd.DataFrame({"a": approved, "g": groups.to_numpy()}).groupby("g", sort=True)["a"].agg(["size", "sum"])
    n, x = table["size"].to_numpy(np.float64), table["sum"].to_numpy(np.float64)
    low, high = proportion_interval(x, n, z)
    if control in table.index:
        nc, xc = float(table.loc[control, "size"]), float(table.loc[control, "sum"])
        air_low, air_high = ratio_interval(x, n, np.full_like(x, xc), np.full_like(n, nc), z)
        d_low, d_high = ratio_interval(n - x, n, np.full_like(x, nc - xc), np.full_like(n, nc), z)
    elif segment == ALL_SEGMENTS:
        raise AuditInputError(f"The control group '{control}' has no rows (groups: "
                              f"{', '.join(map(str, table.index[:20]))}).")
    else:  # a segment without the control group: its ratios are undefined, its rows still listed
        nc = xc = np.nan
        air_low = air_high = d_low = d_high = np.full_like(x, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "segment": segment, "group": table.index.astype(str), "n": n, "approved": x,
            "approval_rate": x / n, "approval_rate_low": low, "approval_rate_high": high,
            "air": (x / n) / (xc / nc), "air_low": air_low, "air_high": air_high,
            "denial_rate": 1 - x / n, "denial_air": (1 - x / n) / (1 - xc / nc),
            "denial_air_low": d_low, "denial_air_high": d_high,
        })
    out["is_control"] = out["group"] == control
    return out


def _smd_counts(segment: str, values: np.ndarray, groups: pd.Series, control: str, z: float, line: float) -> pd.DataFrame:
    frame = pd.DataFrame({"v": values, "g": groups.to_numpy()})
    stats = frame.groupby("g", sort=True)["v"].agg(["size", "mean", "var"])
    if control in stats.index:
        nc, mc, vc = stats.loc[control, ["size", "mean", "var"]]
    else:
        nc = mc = vc = np.nan
    n, m, v = stats["size"].to_numpy(np.float64), stats["mean"].to_numpy(), stats["var"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt(((n - 1) * v + (nc - 1) * vc) / (n + nc - 2))
        smd = (m - mc) / pooled
        half = z * np.sqrt((n + nc) / (n * nc) + smd**2 / (2 * (n + nc)))
    out = pd.DataFrame({"segment": segment, "group": stats.index.astype(str), "n": n, "mean": m,
                        "sd": np.sqrt(v), "smd": smd, "smd_low": smd - half, "smd_high": smd + half})
    out["practically_significant"] = np.abs(out["smd"]) >= line
    out["is_control"] = out["group"] == control
    return out


def _weighted(segment: str, membership: pd.DataFrame, approved: np.ndarray, values: np.ndarray | None, control: str,
              confidence: float, n_boot: int, seed: int, line: float) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    from auditapp.compliance.weighted import weighted_rates

    rates = weighted_rates(membership, approved, control=control, confidence=confidence, n_boot=n_boot, seed=seed)
    denials = weighted_rates(membership, 1 - np.asarray(approved), control=control, confidence=confidence,
                             n_boot=n_boot, seed=seed)
    t, d = rates.table, denials.table
    air = pd.DataFrame({
        "segment": segment, "group": t.index, "n": t["n"], "approved": t["selected"],
        "approval_rate": t["selection_rate"], "approval_rate_low": t.get("selection_rate_low"),
        "approval_rate_high": t.get("selection_rate_high"), "air": t["ratio"], "air_low": t.get("ratio_low"),
        "air_high": t.get("ratio_high"), "denial_rate": d["selection_rate"], "denial_air": d["ratio"],
        "denial_air_low": d.get("ratio_low"), "denial_air_high": d.get("ratio_high"),
        "is_control": t.index == str(control)}).reset_index(drop=True)
    smd = pd.DataFrame()
    if values is not None:
        w = weighted_rates(membership, approved, values=values, control=control, confidence=confidence,
                           n_boot=n_boot, seed=seed).table
        smd = pd.DataFrame({"segment": segment, "group": w.index, "n": w["n"], "mean": w["mean"], "sd": np.nan,
                            "smd": w["smd"], "smd_low": w.get("smd_low", np.nan),
                            "smd_high": w.get("smd_high", np.nan)}).reset_index(drop=True)
        smd["practically_significant"] = np.abs(smd["smd"]) >= line
        smd["is_control"] = smd["group"] == str(control)
    return air, smd, rates.rows_without_probabilities


def fair_lending(approved: Any, *, control: str, groups: Any = None, membership: pd.DataFrame | None = None,
                 values: Any = None, segments: Any = None, confidence: float = 0.95, smd_line: float = SMD_LINE,
                 n_boot: int = N_BOOT, seed: int = 0) -> FairLendingResult:
    """Approval/denial adverse impact ratios and standardized mean differences, overall and by segment.

    Parameters
    ----------
    approved : array-like of 0/1
        1 for an approved application.
    control : str
        The control group (e.g. "White" or "male").
    groups : array-like, optional
        Each applicant's group; or ``membership``: one probability column per group (BISG).
    values : array-like of float, optional
        A price or score for the standardized mean differences.
    segments : array-like, optional
        A segment per applicant (product, region): the measures are repeated within each segment.
    confidence : float
        Interval level.
    smd_line : float
        The practical-significance line for |SMD| (0.30 by convention).
    n_boot, seed
        Bootstrap over rows, used with ``membership``.

    Raises
    ------
    AuditInputError
        For approvals that are not 0/1, rows without a group, a missing control group, bad lengths.
    """
    from auditapp.core.intervals import z_value

    if (groups is None) == (membership is None):
        raise AuditInputError("Give either each applicant's group or the group probabilities, not both.")
    approved_s = pd.to_numeric(pd.Series(approved).reset_index(drop=True), errors="coerce")
    if approved_s.isna().any() or not approved_s.isin([0, 1]).all():
        raise AuditInputError("Approvals must be 0 or 1 for every application (1 = approved).")
    n_rows = len(approved_s)
    approved_a = approved_s.to_numpy(np.float64)
    value_a = None
    if values is not None:
        value_s = pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="coerce")
        if value_s.isna().any():
            raise AuditInputError(f"{int(value_s.isna().sum())} rows have no number in the price/score column; "
                                  "fill them in or remove those rows.")
        value_a = value_s.to_numpy(np.float64)
    seg = (pd.Series([ALL_SEGMENTS] * n_rows) if segments is None
           else pd.Series(segments).reset_index(drop=True).astype(str))
    if len(seg) != n_rows or (value_a is not None and len(value_a) != n_rows):
        raise AuditInputError("Approvals, values and segments must have one entry per application.")
    z = float(z_value(confidence))
    airs, smds, left_out = [], [], 0
    parts = [(ALL_SEGMENTS, np.ones(n_rows, dtype=bool))]
    if segments is not None:
        parts += [(s, (seg == s).to_numpy()) for s in sorted(pd.unique(seg))]
    if groups is not None:
        group_s = pd.Series(groups).reset_index(drop=True)
        if len(group_s) != n_rows:
            raise AuditInputError("Approvals and groups must have one entry per application.")
        if group_s.isna().any():
            raise AuditInputError(f"{int(group_s.isna().sum())} applications have no group. Give every row a "
                                  "group, or estimate groups from surname and ZIP (BISG).")
        group_s = group_s.astype(str)
        for name, mask in parts:
            airs.append(_air_counts(name, approved_a[mask], group_s[mask], str(control), z))
            if value_a is not None:
                smds.append(_smd_counts(name, value_a[mask], group_s[mask], str(control), z, smd_line))
        method = "Wilson (rates), Miettinen–Nurminen (ratios), normal approximation (SMD)"
    else:
        if membership is None:
            raise AuditInputError("Give each application's group, or its group probabilities (BISG).")
        if len(membership) != n_rows:
            raise AuditInputError("Approvals and group probabilities must have one row per application.")
        for name, mask in parts:
            sub = membership[mask].reset_index(drop=True)
            air, smd, out = _weighted(name, sub, approved_a[mask], None if value_a is None else value_a[mask],
                                      str(control), confidence, n_boot, seed, smd_line)
            airs.append(air)
            smds.append(smd)
            left_out = out if name == ALL_SEGMENTS else left_out
        method = f"weighted by group probability; percentile bootstrap over rows ({n_boot} replicates, seed {seed})"
    air_all = pd.concat(airs, ignore_index=True)
    # The control group's ratios are 1 by definition: no interval.
    air_all.loc[air_all["is_control"], ["air_low", "air_high", "denial_air_low", "denial_air_high"]] = np.nan
    smd_all = pd.concat(smds, ignore_index=True) if smds else pd.DataFrame()
    if not smd_all.empty:
        smd_all.loc[smd_all["is_control"], ["smd_low", "smd_high"]] = np.nan
    return FairLendingResult(air=air_all, smd=smd_all,
                             control=str(control), confidence=confidence, smd_line=smd_line,
                             interval_method=method, rows_left_out=left_out)
