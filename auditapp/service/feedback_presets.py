"""What the Feedback loops page offers: scenarios, their controls, and how control values become runs.

Plain data and small pure functions, so the page and its callbacks stay thin and everything shown is
tested here: one :class:`Control` per slider/input (with its sentence of explanation), :func:`read_controls` (raw browser values → checked Python values),
:func:`plan_runs` (values → the two parameter sets compared side by side), :func:`run_key` (the cache
key of one run), and the computed sentences and step read-outs next to the charts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.validation import parse_number
from auditapp.feedback.base import Progress, to_plain
from auditapp.feedback.learners import DEFAULT_LEARNER
from auditapp.feedback.lending import POLICY_LABELS, LendingParams
from auditapp.feedback.model_loop import ModelLoopParams
from auditapp.feedback.policing import PolicingParams

SCENARIO_LABELS = {"policing": "Predictive policing", "lending": "Lending with delayed impact",
                   "model-loop": "Your model in the loop"}


@dataclass(frozen=True)
class Control:
    """One setting on the page: a slider, a number box or a choice, with one sentence of help."""

    name: str
    label: str
    help: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    options: tuple[tuple[Any, str], ...] | None = None
    optional: bool = False


_POLICIES = tuple((p, POLICY_LABELS[p].capitalize()) for p in POLICY_LABELS)

CONTROLS: dict[str, tuple[Control, ...]] = {
    "policing": (
        Control("rate_a", "Incidents a day in region A", "The true rate; police do not know it. "
                "Oakland's drug-crime data gave 3.69.", "slider", 3.69, 0, 10, 0.01),
        Control("rate_b", "Incidents a day in region B", "The true rate of the second region "
                "(Oakland: 2.82). Make it equal to A to see chance alone decide.", "slider", 2.82, 0, 10, 0.01),
        Control("reported_share", "Share of incidents reported by residents",
                "Reported incidents are recorded wherever the patrols are; 0 means police only "
                "learn what they see themselves.", "slider", 0.0, 0, 1, 0.05),
        Control("steps", "Days per run", "Each day one patrol goes to a region chosen in proportion "
                "to the incidents recorded so far.", "number", 20_000, 10, 200_000, 10),
        Control("runs", "Independent runs", "The chart shows the mean over runs and the band where "
                "80% of runs lie; more runs give a smoother picture.", "number", 100, 1, 1000, 1),
    ),
    "lending": (
        Control("policy_left", "Policy 1 (left)", "How the lender sets each group's threshold.",
                "choice", "max_profit", options=_POLICIES),
        Control("policy_right", "Policy 2 (right)", "The policy to compare it with.",
                "choice", "demographic_parity", options=_POLICIES),
        Control("repay_change", "Score change after a repaid loan", "Points a borrower gains by "
                "paying back (the paper: +75).", "slider", 75.0, 0, 200, 5),
        Control("default_change", "Score change after a default", "Points a borrower loses by "
                "defaulting (the paper: −150).", "slider", -150.0, -300, 0, 5),
        Control("utility_repaid", "Lender's gain per repaid loan", "What a repaid loan is worth to "
                "the lender, in any unit.", "number", 1.0, -100, 100, 0.5),
        Control("utility_default", "Lender's loss per default", "What a default is worth to the "
                "lender (negative: a loss); −4 means one default wipes out four repaid loans.",
                "number", -4.0, -100, 100, 0.5),
        Control("steps", "Rounds of lending", "The trajectory repeats the policy this many times, "
                "each time on the new score distributions.", "slider", 10, 1, 50, 1),
    ),
    "model-loop": (
        Control("sensitive", "Compare groups of", "The sensitive attribute whose groups are "
                "tracked (from the audit settings).", "choice", None),
        Control("outcome", "Outcome revealed after selection", "What the model finds out about the "
                "people it selects, and learns from. The hiring scenario offers how people performed "
                "in the job, which its past decisions got wrong for women. Empty: the audit's outcome.",
                "choice", None, optional=True),
        Control("rounds", "Rounds", "Each round the model scores a new pool of applicants drawn "
                "from the dataset, then is retrained.", "slider", 20, 1, 100, 1),
        Control("pool_size", "Applicants per round", "How many rows of the dataset are drawn into "
                "each round's pool (more applicants, smoother lines).", "number", 1000, 10, 5000, 10),
        Control("selection_rate", "Share of each pool selected", "The model selects the best-scored "
                "share; only they reveal whether they would have done well.", "slider", 0.3, 0.05, 1, 0.05),
        Control("exploration", "Exploration rate", "Share of the rejected applicants given a chance "
                "anyway, so the model also learns their outcomes.", "slider", 0.0, 0, 1, 0.05),
        Control("raise_feature", "Feature raised by a success (optional)", "A numeric feature of the "
                "model that grows for people who were selected and did well.", "choice", None,
                optional=True),
        Control("raise_amount", "Raise it by", "How much that feature grows after each success "
                "(0: people do not change).", "number", 0.0, -1000, 1000, None),
    ),
}
SEED_CONTROL = Control("seed", "Seed", "The same seed and settings give the same result; change it "
                       "to see another random history.", "number", 0, 0, 2**31 - 1, 1)

SIDE_TITLES = {
    "policing": ("Without correction: patrols follow discovered incidents",
                 "With the authors' correction"),
    "model-loop": ("Selection rate per group", "True positive rate per group"),
}

def check_scenario(scenario: Any) -> str:
    """Return the scenario name, or raise AuditInputError if the page does not offer it."""
    if scenario not in CONTROLS:
        raise AuditInputError(f"Unknown scenario {scenario!r}. Choose one of: {', '.join(SCENARIO_LABELS)}.")
    return scenario


def read_controls(scenario: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check the raw control values of a scenario (plus the seed) and return them as Python values.

    ``raw`` maps control names to what the browser sent (numbers may arrive as text or None); the
    result maps them to numbers (int where the control steps by whole numbers) or choices.

    Raises
    ------
    AuditInputError
        If a required value is empty, not a number, or outside the control's range.
    """
    values: dict[str, Any] = {}
    for control in (*CONTROLS[check_scenario(scenario)], SEED_CONTROL):
        value = raw.get(control.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if control.optional:
                values[control.name] = None
                continue
            hint = "" if control.default is None else f" (the default is {control.default})"
            raise AuditInputError(f"'{control.label}' is empty. Fill it in{hint} and run again.")
        values[control.name] = value if control.kind == "choice" else _number(control, value)
    return values


def _number(control: Control, value: Any) -> float | int:
    whole = control.step is not None and float(control.step).is_integer()
    return parse_number(value, f"'{control.label}'", integer=whole, minimum=control.minimum,
                        maximum=control.maximum)


def page_values(scenario: str, names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """The raw values of one scenario's controls (names ``"scenario:name"``) and of shared ones."""
    prefix = f"{scenario}:"
    return {name.removeprefix(prefix): value for name, value in zip(names, values, strict=True)
            if name.startswith(prefix) or ":" not in name}


def policing_params(values: Mapping[str, Any]) -> tuple[PolicingParams, PolicingParams]:
    """The same urn without and with the authors' correction (left, right)."""
    common = {"rates": (values["rate_a"], values["rate_b"]), "steps": values["steps"],
              "runs": values["runs"], "reported_share": values["reported_share"]}
    return PolicingParams(**common, corrected=False), PolicingParams(**common, corrected=True)


def lending_params(values: Mapping[str, Any]) -> tuple[LendingParams, LendingParams]:
    """The two chosen lender policies on the same score model and score changes (left, right)."""
    if values["policy_left"] == values["policy_right"]:
        raise AuditInputError(
            f"Both sides use the policy {POLICY_LABELS.get(values['policy_left'], values['policy_left'])!r}. "
            "Choose two different policies to compare."
        )
    common = {k: values[k] for k in ("repay_change", "default_change", "utility_repaid",
                                     "utility_default", "steps")}
    return (LendingParams(policy=values["policy_left"], **common),
            LendingParams(policy=values["policy_right"], **common))


def run_key(scenario: str, params: Any, seed: int | None, *, data_key: Sequence[Any] = ()) -> list:
    """The cache key of one run: scenario, every plain parameter, the seed and the data's identity.

    Tables, models and score models are identified by ``data_key`` (e.g. the dataset and model
    hashes) and by their source name, not by their content. The key is a JSON-ready list.
    """
    plain = {}
    for item in fields(params):
        value = getattr(params, item.name)
        if isinstance(value, pd.DataFrame) or item.name == "estimator":
            value = None if value is None else type(value).__name__
        elif hasattr(value, "source") and hasattr(value, "pmf"):
            value = value.source
        plain[item.name] = to_plain(value)
    return ["feedback", scenario, json.dumps(plain, sort_keys=True, default=str), seed,
            *[str(part) for part in data_key]]


def split_progress(report: Progress, index: int, count: int) -> Progress:
    """A progress callback for run ``index`` of ``count`` that reports the overall fraction done."""
    def progress(fraction: float) -> None:
        report((index + min(1.0, max(0.0, fraction))) / count)
    return progress


@dataclass(frozen=True, eq=False)
class LoopSetup:
    """What the model loop runs on: feature columns, the learner (None: default), and the note.

    ``outcomes`` are the outcomes the page offers (the audit's target first, or the scenario's revealed
    outcome first); ``history`` is, per outcome, the labelled past rows both worlds keep learning from.
    """

    features: tuple[str, ...]
    estimator: Any
    note: str
    numeric_features: tuple[str, ...]
    outcomes: tuple[str, ...] = ()
    history: Mapping[str, Any] | None = None
    favorables: Mapping[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class ScenarioLoop:
    """A built-in scenario's loop: the outcome people reveal once selected, and the past decisions the model
    was trained on (``history``, with that outcome's column holding the past decision), with a sentence."""

    outcome: str
    history: pd.DataFrame
    note: str
    favorable: Any = 1


def loop_setup(frame: pd.DataFrame, *, exclude: Sequence[str], model: Any = None,
               scenario: ScenarioLoop | None = None, target: str | None = None) -> LoopSetup:
    """Pick the model-loop features and learner for a dataset and an optional ``AuditModel``.

    A model that can be refitted is used as is in round 1 and retrained; otherwise (ONNX, or no
    model) the stated default learner takes its place, on the model's features if there is a model,
    else on every column but ``exclude`` (target, sensitive, prediction/score) and identifiers.

    Raises
    ------
    AuditInputError
        If the dataset lacks the model's features or no feature column is left.
    """
    default = f"the default learner takes its place: {DEFAULT_LEARNER}, first trained on one pool of the dataset."
    if model is None:
        features, estimator = loop_features(frame, exclude=exclude), None
        note = f"There is no model in the current audit, so {default}"
    else:
        model.check_columns(frame)
        features = tuple(map(str, model.feature_names))
        estimator = model.learner if model.refittable else None
        note = (f"The model {model.name} ({model.format}) cannot be retrained, so {default}" if estimator is None
                else f"The model {model.name} ({model.format}) is used as is in round 1, then retrained each round.")
    numeric = tuple(c for c in features if pd.api.types.is_numeric_dtype(frame[c])
                    and not pd.api.types.is_bool_dtype(frame[c]))
    outcomes = tuple(dict.fromkeys([*([scenario.outcome] if scenario else []), *([target] if target else [])]))
    history = {scenario.outcome: scenario.history} if scenario else None
    if scenario is not None:
        note = f"{note} {scenario.note}"
    return LoopSetup(features=features, estimator=estimator, note=note, numeric_features=numeric,
                     outcomes=outcomes, history=history,
                     favorables={scenario.outcome: scenario.favorable} if scenario else None)


def model_loop_params(values: Mapping[str, Any], setup: LoopSetup, frame: pd.DataFrame, *, target: str,
                      favorable: Any) -> ModelLoopParams:
    """The model-loop parameters from the page's checked values and the loop setup."""
    if values["sensitive"] not in frame.columns:
        raise AuditInputError(f"The sensitive attribute {values['sensitive']!r} is not in the dataset. "
                              "Choose one of the audit's sensitive features.")
    outcome = values.get("outcome") or target
    if outcome != target and outcome not in setup.outcomes:
        raise AuditInputError(f"The outcome {outcome!r} is not one this page offers ({', '.join(setup.outcomes)}). "
                              "Choose one of them.")
    history = (setup.history or {}).get(outcome)
    favorable = (setup.favorables or {}).get(outcome, favorable)
    return ModelLoopParams(
        frame=frame, feature_columns=setup.features, target=outcome, sensitive=values["sensitive"],
        favorable=favorable, estimator=setup.estimator, rounds=values["rounds"], history=history,
        pool_size=min(values["pool_size"], len(frame)), selection_rate=values["selection_rate"],
        exploration=values["exploration"], dynamics_feature=values["raise_feature"],
        dynamics_amount=values["raise_amount"],
    )


def loop_features(frame: pd.DataFrame, *, exclude: Sequence[str]) -> tuple[str, ...]:
    """Columns a default learner may use: all but ``exclude`` and identifier-like columns.

    A column is identifier-like when every row has a different, non-float value (e.g. an
    applicant id): it cannot generalise and would let the learner memorise rows.
    """
    skip = set(map(str, exclude))
    keep = []
    for column in frame.columns:
        series = frame[column]
        unique_ids = series.nunique(dropna=False) == len(frame) and not pd.api.types.is_float_dtype(series)
        if str(column) not in skip and not (unique_ids and len(frame) > 1):
            keep.append(str(column))
    if not keep:
        raise AuditInputError(
            f"No column is left for the model to learn from once the target, the sensitive "
            f"attributes and identifier-like columns are set aside ({sorted(skip)}). Add feature columns."
        )
    return tuple(keep)


def rate_text(group: str, value: float) -> str:
    """``group 12.5%`` (``n/a`` for a rate that cannot be computed)."""
    return f"{group} {'n/a' if not math.isfinite(value) else f'{value:.1%}'}"
