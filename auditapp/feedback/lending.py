"""Lending with delayed impact (Liu, Dean, Rolf, Simchowitz, Hardt, ICML 2018).

A lender selects applicants from the top of each group's score distribution. A repaid loan raises
the borrower's score by ``repay_change``; a default lowers it by ``|default_change|`` (both clipped
to the score grid). The lender gains ``utility_repaid`` per repaid loan and ``utility_default`` per
default. Policies pick a selection rate per group:

- ``max_profit``: each group's threshold maximises the lender's expected utility;
- ``demographic_parity``: one common selection rate, maximising total utility;
- ``equal_opportunity``: equal true positive rate (share of would-be repayers who get a loan),
  maximising total utility.

Thresholds are randomised at the boundary score (a fraction of applicants with exactly that score is
selected), so selection rates are exact. Everything here is an expectation, so the results do not
depend on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.feedback.base import (
    MAX_ROUNDS,
    Progress,
    SimulationResult,
    check_count,
    check_number,
    concat_series,
    params_dict,
    report_progress,
    tidy_series,
)
from auditapp.feedback.lending_policy import (
    POLICIES,
    PolicyChoice,
    apply_policy,
    choose_policy,
    outcome_curve,
)
from auditapp.feedback.scores import ScoreModel, synthetic_score_model

POLICY_LABELS = {"max_profit": "maximum profit", "demographic_parity": "demographic parity",
                 "equal_opportunity": "equal opportunity"}


@dataclass(frozen=True)
class LendingParams:
    """Settings of the lending simulation.

    Parameters
    ----------
    policy : str
        ``max_profit``, ``demographic_parity`` or ``equal_opportunity``.
    score_model : ScoreModel, optional
        Groups, score distributions and repayment curves; synthetic defaults when omitted.
    repay_change, default_change : float
        Score change after a repaid loan (≥ 0) and after a default (≤ 0).
    utility_repaid, utility_default : float
        Lender's gain per repaid loan and per default (``utility_repaid > utility_default``).
    steps : int
        Rounds of lending in the trajectory (0 to 500).
    """

    policy: str = "max_profit"
    score_model: ScoreModel | None = None
    repay_change: float = 75.0
    default_change: float = -150.0
    utility_repaid: float = 1.0
    utility_default: float = -4.0
    steps: int = 10

    def __post_init__(self) -> None:
        policy = str(self.policy).strip().lower().replace("-", "_")
        if policy not in POLICIES:
            raise AuditInputError(f"Unknown lending policy {self.policy!r}. Choose one of: {', '.join(POLICIES)}.")
        model = synthetic_score_model() if self.score_model is None else self.score_model
        if not isinstance(model, ScoreModel):
            raise AuditInputError(f"score_model must be a ScoreModel, got {type(model).__name__}.")
        up = check_number("The score change after repaying", self.repay_change, minimum=0,
                          hint="Repaying a loan cannot lower a score.")
        down = check_number("The score change after a default", self.default_change, maximum=0,
                            hint="Write it as a negative number, e.g. -150.")
        gain = check_number("The lender's utility per repaid loan", self.utility_repaid)
        loss = check_number("The lender's utility per default", self.utility_default)
        if gain <= loss:
            raise AuditInputError(
                f"A repaid loan must be worth more to the lender than a default, but got {gain:g} "
                f"and {loss:g}. Use e.g. 1 and -4."
            )
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "score_model", model)
        object.__setattr__(self, "repay_change", up)
        object.__setattr__(self, "default_change", down)
        object.__setattr__(self, "utility_repaid", gain)
        object.__setattr__(self, "utility_default", loss)
        object.__setattr__(self, "steps", check_count("The number of lending rounds", self.steps,
                                                      minimum=0, maximum=MAX_ROUNDS))

    @property
    def model(self) -> ScoreModel:
        """The score model simulated (the synthetic one when none was given)."""
        if self.score_model is None:  # never after __post_init__, which fills it in
            return synthetic_score_model()
        return self.score_model


def simulate_lending(params: LendingParams, *, seed: int | None = None,
                     progress: Progress | None = None) -> SimulationResult:
    """Outcome curves, every policy's first-round choice, and the chosen policy's trajectory.

    Parameters
    ----------
    params : LendingParams
        The settings.
    seed : int, optional
        Recorded for reproducibility; the simulation works with expectations and draws nothing.
    progress : callable, optional
        Called with the fraction of rounds done.

    Returns
    -------
    SimulationResult
        ``series`` holds per round (``step`` 0 is before any lending) and group: ``mean_score``,
        and for rounds 1.. ``selection_rate``, ``threshold``, ``true_positive_rate`` and
        ``mean_score_change``. ``tables`` holds ``outcome_curve`` and ``policies`` (one row per
        policy and group, first round).
    """
    model = params.model
    changes = {"repay_change": params.repay_change, "default_change": params.default_change}
    utilities = {"utility_repaid": params.utility_repaid, "utility_default": params.utility_default}
    choices = {p: choose_policy(model, p, **utilities, **changes) for p in POLICIES}
    policies = pd.DataFrame([
        {"policy": p, "group": name, "selection_rate": c.selection_rate[g],
         "threshold": c.threshold[g], "threshold_fraction": c.threshold_fraction[g],
         "true_positive_rate": c.true_positive_rate[g], "mean_score_change": c.mean_score_change[g],
         "utility": c.utility}
        for p, c in choices.items() for g, name in enumerate(model.groups)
    ])
    means = [model.mean_scores()]
    rounds: dict[str, list[np.ndarray]] = {k: [] for k in ("selection_rate", "threshold", "true_positive_rate",
                                              "mean_score_change")}
    current = model
    for step in range(params.steps):
        choice = choose_policy(current, params.policy, **utilities, **changes)
        for key in rounds:
            rounds[key].append(getattr(choice, key))
        current = apply_policy(current, choice, **changes)
        means.append(current.mean_scores())
        report_progress(progress, (step + 1) / params.steps)
    parts = [tidy_series(np.arange(params.steps + 1), "mean_score", model.groups, np.array(means))]
    if params.steps:
        steps = np.arange(1, params.steps + 1)
        parts += [tidy_series(steps, key, model.groups, np.array(values)) for key, values in rounds.items()]
    first = choices[params.policy]
    summary = {
        "policy": params.policy,
        "source": model.source,
        "groups": [
            {"group": name, "threshold": float(first.threshold[g]),
             "threshold_fraction": float(first.threshold_fraction[g]),
             "selection_rate": float(first.selection_rate[g]),
             "true_positive_rate": float(first.true_positive_rate[g]),
             "mean_score_change": float(first.mean_score_change[g]),
             "initial_mean_score": float(means[0][g]), "final_mean_score": float(means[-1][g])}
            for g, name in enumerate(model.groups)
        ],
        "utility": first.utility,
    }
    return SimulationResult(
        scenario="lending", params={**params_dict(params), "score_model": model.source}, seed=seed, series=concat_series(parts),
        summary=summary, narrative=_narrative(params, summary, choices),
        tables={"outcome_curve": outcome_curve(model, repay_change=params.repay_change,
                                               default_change=params.default_change), "policies": policies},
    )


def _narrative(params: LendingParams, summary: dict[str, Any], choices: dict[str, PolicyChoice]) -> tuple[str, ...]:
    label = POLICY_LABELS[params.policy]
    lines = [f"Under {label}, the lender's first round:"]
    for row in summary["groups"]:
        direction = "rises" if row["mean_score_change"] > 0 else "falls" if row["mean_score_change"] < 0 else "stays"
        lines.append(
            f"Group {row['group']}: {row['selection_rate']:.1%} get a loan (threshold "
            f"{row['threshold']:.0f}); the group's mean score {direction} by "
            f"{abs(row['mean_score_change']):.1f} points."
        )
    profit = choices["max_profit"]
    extra = [(row["group"], row["selection_rate"] - profit.selection_rate[g])
             for g, row in enumerate(summary["groups"])]
    extra = [(name, more) for name, more in extra if more > 1e-6]
    if params.policy != "max_profit" and extra:
        names = ", ".join(f"{name} (+{more:.1%})" for name, more in extra)
        lines.append(
            f"The fairness constraint lends to more of group(s) {names} than maximum profit "
            "would. Whether that helps depends on where each group is on its outcome curve."
        )
    harmed = [row["group"] for row in summary["groups"] if row["mean_score_change"] < 0]
    if harmed:
        lines.append(
            f"Group(s) {', '.join(harmed)} lose score on average: too many of the loans end in "
            "default, so the policy does active harm (Liu et al.) although it looks generous."
        )
    if params.steps:
        moves = ", ".join(f"{r['group']} {r['initial_mean_score']:.0f} → {r['final_mean_score']:.0f}"
                          for r in summary["groups"])
        lines.append(f"After {params.steps} rounds the mean scores move: {moves}.")
    lines.append("Try: switch policy and compare where each group lands on its outcome curve; make a "
                 "default cost more points and watch fairness constraints start to hurt.")
    return tuple(lines)


def lending_json(result: SimulationResult) -> dict[str, Any]:
    """The ``auditapp.simulate/1`` keys of a lending result."""
    curve = result.tables["outcome_curve"]
    return {
        "policy": result.summary["policy"],
        "groups": result.summary["groups"],
        "policies": result.tables["policies"].to_dict(orient="records"),
        "mean_score": result.series_wide("mean_score").to_numpy().tolist(),
        "outcome_curve": {
            str(g): {"selection_rate": part["selection_rate"].tolist(),
                     "mean_score_change": part["mean_score_change"].tolist()}
            for g, part in curve.groupby("group", sort=False)
        },
    }
