"""Lending policies on score distributions (Liu et al., 2018): thresholds, outcome curves, dynamics.

A policy selects applicants from the top of each group's score distribution, randomising at the
boundary score so that selection rates are exact. ``choose_policy`` maximises the lender's expected
utility under no constraint (``max_profit``), one common selection rate (``demographic_parity``) or
one common true positive rate (``equal_opportunity``). The utility, selection rate and TPR are
piecewise linear in the selection rate, with kinks where a score's mass is used up, so the optimum
is found exactly by checking every kink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.feedback.scores import ScoreModel

POLICIES = ("max_profit", "demographic_parity", "equal_opportunity")


@dataclass(frozen=True, eq=False)
class PolicyChoice:
    """Per-group selection rates of one policy, with their thresholds and consequences."""

    policy: str
    groups: tuple[str, ...]
    selection_rate: np.ndarray
    threshold: np.ndarray
    threshold_fraction: np.ndarray
    true_positive_rate: np.ndarray
    mean_score_change: np.ndarray
    utility: float


def selection_from_rate(pmf: np.ndarray, rate: float) -> np.ndarray:
    """Probability of selecting an applicant at each score when taking ``rate`` from the top.

    Scores above the boundary score are all selected, those below none, and those at the boundary
    with the probability that makes the selected mass exactly ``rate``.
    """
    pmf = np.asarray(pmf, dtype=float)
    from_top = np.cumsum(pmf[::-1])
    above = from_top - pmf[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(pmf[::-1] > 0, (rate - above) / pmf[::-1], 0.0)
    return np.clip(fraction, 0.0, 1.0)[::-1]


def threshold_from_rate(scores: np.ndarray, pmf: np.ndarray, rate: float) -> tuple[float, float]:
    """The boundary score and the share selected at it, for selection rate ``rate`` from the top.

    Applicants above the returned score are selected; at the score, the returned fraction is.
    A rate of 0 gives the top score with fraction 0.
    """
    selected = selection_from_rate(pmf, rate)
    partial = np.flatnonzero((selected > 0) & (np.asarray(pmf) > 0))
    if partial.size == 0:
        return float(scores[-1]), 0.0
    lowest = int(partial[0])
    return float(scores[lowest]), float(selected[lowest])


def expected_score_change(scores: np.ndarray, repay: np.ndarray, *, repay_change: float,
                          default_change: float) -> np.ndarray:
    """Expected score change of a borrower at each score, each outcome clipped to the grid's range."""
    scores = np.asarray(scores, dtype=float)
    low, high = scores[0], scores[-1]
    up = np.clip(scores + repay_change, low, high) - scores
    down = np.clip(scores + default_change, low, high) - scores
    return np.asarray(repay * up + (1.0 - repay) * down, dtype=np.float64)


def _curves(model: ScoreModel, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints (selection rates) and cumulative totals of ``values``, selecting from the top."""
    mass = model.pmf[:, ::-1]
    rates = np.concatenate([np.zeros((mass.shape[0], 1)), np.cumsum(mass, axis=1)], axis=1)
    totals = np.concatenate([np.zeros((mass.shape[0], 1)), np.cumsum(mass * values[:, ::-1], axis=1)], axis=1)
    return np.minimum(rates, 1.0), totals


def outcome_curve(model: ScoreModel, *, repay_change: float = 75.0, default_change: float = -150.0,
                  points: int = 101) -> pd.DataFrame:
    """Expected mean score change of each group as a function of its selection rate.

    Parameters
    ----------
    model : ScoreModel
        Groups, distributions and repayment curves.
    repay_change, default_change : float
        Score change after repaying and after defaulting.
    points : int
        Evenly spaced selection rates in [0, 1]; the curve's kinks are added, so it is exact.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``selection_rate``, ``mean_score_change``.
    """
    change = expected_score_change(model.scores, model.repay, repay_change=repay_change,
                                   default_change=default_change)
    rates, totals = _curves(model, change)
    frames = []
    for g, name in enumerate(model.groups):
        grid = np.unique(np.concatenate([np.linspace(0.0, 1.0, points), rates[g]]))
        frames.append(pd.DataFrame({"group": name, "selection_rate": grid,
                                    "mean_score_change": np.interp(grid, rates[g], totals[g])}))
    return pd.concat(frames, ignore_index=True)


def choose_policy(model: ScoreModel, policy: str, *, utility_repaid: float = 1.0,
                  utility_default: float = -4.0, repay_change: float = 75.0,
                  default_change: float = -150.0) -> PolicyChoice:
    """Selection rate per group under ``policy``, maximising the lender's expected utility.

    Raises
    ------
    AuditInputError
        For an unknown policy, or equal opportunity when a group has no one who would repay.
    """
    if policy not in POLICIES:
        raise AuditInputError(f"Unknown lending policy {policy!r}. Choose one of: {', '.join(POLICIES)}.")
    gain = model.repay * utility_repaid + (1.0 - model.repay) * utility_default
    rates, utility = _curves(model, gain)
    _, repaid = _curves(model, model.repay)
    shares = model.group_shares
    if policy == "max_profit":
        chosen = np.array([rates[g][int(np.argmax(utility[g]))] for g in range(len(model.groups))])
    elif policy == "demographic_parity":
        candidates = np.unique(rates)
        total = sum(shares[g] * np.interp(candidates, rates[g], utility[g]) for g in range(len(shares)))
        chosen = np.full(len(shares), candidates[int(np.argmax(total))])
    else:
        if np.any(repaid[:, -1] <= 0):
            empty = [model.groups[g] for g in np.flatnonzero(repaid[:, -1] <= 0)]
            raise AuditInputError(
                f"Equal opportunity needs applicants who would repay in every group, but group(s) "
                f"{empty} have none. Choose another policy or check the repayment table."
            )
        tpr = repaid / repaid[:, -1:]
        candidates = np.unique(np.clip(tpr, 0.0, 1.0))
        picks = np.vstack([_inverse(candidates, tpr[g], rates[g]) for g in range(len(shares))])
        total = sum(shares[g] * np.interp(picks[g], rates[g], utility[g]) for g in range(len(shares)))
        chosen = picks[:, int(np.argmax(total))]
    return _choice(model, policy, chosen, utility, rates, gain=gain, repay_change=repay_change,
                   default_change=default_change)


def _inverse(targets: np.ndarray, increasing: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Smallest selection rate at which a non-decreasing piecewise-linear curve reaches ``targets``."""
    j = np.clip(np.searchsorted(increasing, targets, side="left"), 1, len(increasing) - 1)
    lo, hi = increasing[j - 1], increasing[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(hi > lo, (targets - lo) / (hi - lo), 1.0)
    out = rates[j - 1] + np.clip(t, 0.0, 1.0) * (rates[j] - rates[j - 1])
    return np.asarray(np.where(targets <= increasing[0], rates[0], out), dtype=np.float64)


def _choice(model: ScoreModel, policy: str, chosen: np.ndarray, utility: np.ndarray,
            rates: np.ndarray, *, gain: np.ndarray, repay_change: float,
            default_change: float) -> PolicyChoice:
    change = expected_score_change(model.scores, model.repay, repay_change=repay_change,
                                   default_change=default_change)
    thresholds, fractions, tprs, changes, realised = [], [], [], [], []
    for g in range(len(model.groups)):
        selected = selection_from_rate(model.pmf[g], chosen[g])
        threshold, fraction = threshold_from_rate(model.scores, model.pmf[g], chosen[g])
        thresholds.append(threshold)
        fractions.append(fraction)
        taken = model.pmf[g] * selected
        realised.append(taken.sum())
        repayers = (model.pmf[g] * model.repay[g]).sum()
        tprs.append((taken * model.repay[g]).sum() / repayers if repayers > 0 else float("nan"))
        changes.append((taken * change[g]).sum())
    total = float(sum(model.group_shares[g] * np.interp(chosen[g], rates[g], utility[g])
                      for g in range(len(model.groups))))
    return PolicyChoice(policy, model.groups, np.asarray(realised), np.asarray(thresholds),
                        np.asarray(fractions), np.asarray(tprs), np.asarray(changes), total)


def apply_policy(model: ScoreModel, choice: PolicyChoice, *, repay_change: float,
                 default_change: float) -> ScoreModel:
    """Move selected borrowers' scores by the expected outcome; return the next distributions.

    Selected mass at score ``s`` moves to ``s + repay_change`` (repaid) or ``s + default_change``
    (defaulted), clipped to the grid and split between the two nearest grid scores so that each
    group's mean moves by exactly its expected change.
    """
    scores = model.scores
    new = np.zeros_like(model.pmf)
    for g in range(len(model.groups)):
        taken = model.pmf[g] * selection_from_rate(model.pmf[g], choice.selection_rate[g])
        new[g] += model.pmf[g] - taken
        for mass, shift in ((taken * model.repay[g], repay_change),
                            (taken * (1.0 - model.repay[g]), default_change)):
            target = np.clip(scores + shift, scores[0], scores[-1])
            right = np.clip(np.searchsorted(scores, target, side="left"), 1, scores.size - 1)
            weight = (target - scores[right - 1]) / (scores[right] - scores[right - 1])
            np.add.at(new[g], right, mass * weight)
            np.add.at(new[g], right - 1, mass * (1.0 - weight))
    return model.with_pmf(np.clip(new, 0.0, None))
