"""A model in the loop with selective labels: it only learns from the people it selected.

Round after round an applicant pool is drawn from ``frame``. The model scores the pool and selects
the top ``selection_rate`` share. Only the selected rows reveal their labels (selective labels), plus
a random ``exploration`` share of the others, which are given the chance too. The model is retrained
(a clone of ``estimator``) on every label it has seen so far. Optionally a success (a selected or
explored row with the favourable label) raises a numeric feature of that row for later rounds.

A counterfactual world runs alongside on the same pools and random draws, but sees every label of
each pool. With ``exploration=1`` both worlds see the same labels, so they coincide exactly.
Selection rate and TPR describe the model's own decisions (the top share), per group of
``sensitive``, in each round.
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
    check_share,
    concat_series,
    report_progress,
    tidy_series,
    to_plain,
)
from auditapp.feedback.learners import (
    DEFAULT_LEARNER,
    default_estimator,
    is_fitted,
    positive_scores,
)

MAX_POOL = 1_000_000
MAX_GROUPS = 50
WORLDS = ("loop", "counterfactual")


@dataclass(frozen=True, eq=False)
class ModelLoopParams:
    """Settings of the model-in-the-loop simulation.

    Parameters
    ----------
    frame : pandas.DataFrame
        The applicants to draw pools from (features, target and sensitive column).
    feature_columns : sequence of str
        Columns the model sees.
    target : str
        Label column; ``favorable`` marks the good outcome (e.g. would perform well if hired).
    sensitive : str
        Column whose groups are compared.
    estimator : scikit-learn estimator, optional
        Fitted or not; retraining uses ``sklearn.base.clone``. If it is fitted, round 1 uses it as
        is; otherwise it is first fitted on ``initial_size`` random rows. Default: logistic regression.
    rounds, pool_size : int
        Rounds (1–500) and applicants per round (1 to the number of rows).
    selection_rate : float
        Share of each pool the model selects, in (0, 1].
    exploration : float
        Share of the rows not selected that are selected at random and reveal their labels.
    initial_size : int, optional
        Rows with known labels for the first fit of an unfitted estimator (default ``pool_size``).
    dynamics_feature, dynamics_amount : str and float, optional
        A success raises this numeric feature of that row by this amount.
    history : pandas.DataFrame, optional
        Labelled rows the model has already learned from (e.g. past decisions). Both worlds keep
        them in their training data; an unfitted estimator is first fitted on them.
    """

    frame: pd.DataFrame
    feature_columns: tuple[str, ...]
    target: str
    sensitive: str
    favorable: Any = 1
    estimator: Any = None
    rounds: int = 20
    pool_size: int = 200
    selection_rate: float = 0.3
    exploration: float = 0.0
    initial_size: int | None = None
    dynamics_feature: str | None = None
    dynamics_amount: float = 0.0
    history: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        frame = self.frame
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise AuditInputError("The applicant table is empty, so there is no pool to draw from. "
                                  "Load a table with at least one row.")
        features = (self.feature_columns,) if isinstance(self.feature_columns, str) else self.feature_columns
        features = tuple(str(c) for c in features)
        if not features:
            raise AuditInputError("Choose at least one feature column for the model.")
        missing = [c for c in (*features, self.target, self.sensitive) if c not in frame.columns]
        if missing:
            raise AuditInputError(f"Column(s) {missing} are not in the table, which has "
                                  f"{list(map(str, frame.columns))[:20]}. Check the spelling.")
        labels = frame[self.target]
        if labels.isna().any():
            raise AuditInputError(f"The target column {self.target!r} has {int(labels.isna().sum())} "
                                  "missing values. Drop those rows first.")
        favorable = _match_label(labels, self.favorable, self.target)
        if (labels == favorable).all():
            raise AuditInputError(f"Every row of {self.target!r} is {to_plain(favorable)!r}, so the model "
                                  "has nothing to tell apart. Use a target with both outcomes.")
        groups = frame[self.sensitive].nunique(dropna=False)
        if groups > MAX_GROUPS:
            raise AuditInputError(f"{self.sensitive!r} has {groups} groups, more than {MAX_GROUPS}. "
                                  "Choose a column with fewer groups or bin it.")
        pool = check_count("The pool size", self.pool_size, maximum=min(len(frame), MAX_POOL))
        initial = pool if self.initial_size is None else self.initial_size
        if self.dynamics_feature is not None:
            if self.dynamics_feature not in features or not pd.api.types.is_numeric_dtype(frame[self.dynamics_feature]):
                raise AuditInputError(f"The feature to raise, {self.dynamics_feature!r}, must be one of the "
                                      f"model's numeric feature columns {list(features)}.")
        if self.history is not None:
            _check_history(self.history, (*features, self.target))
        object.__setattr__(self, "feature_columns", features)
        object.__setattr__(self, "favorable", favorable)
        object.__setattr__(self, "rounds", check_count("The number of rounds", self.rounds, maximum=MAX_ROUNDS))
        object.__setattr__(self, "pool_size", pool)
        rate = check_share("The selection rate", self.selection_rate)
        if rate <= 0:
            raise AuditInputError("The selection rate is 0, so nobody would ever be selected. Use e.g. 0.3.")
        object.__setattr__(self, "selection_rate", rate)
        object.__setattr__(self, "exploration", check_share("The exploration rate", self.exploration))
        object.__setattr__(self, "initial_size", check_count("The initial training size", initial,
                                                             minimum=2, maximum=len(frame)))
        object.__setattr__(self, "dynamics_amount", check_number("The feature change", self.dynamics_amount))


def _check_history(history: Any, columns: tuple[str, ...]) -> None:
    if not isinstance(history, pd.DataFrame) or history.empty:
        raise AuditInputError("The history table is empty. Give the labelled rows the model learned "
                              "from, or leave the history out.")
    missing = [c for c in columns if c not in history.columns]
    if missing:
        raise AuditInputError(f"The history table lacks column(s) {missing}; it needs the feature "
                              "columns and the target, like the applicant table.")
    if history[columns[-1]].isna().any():
        raise AuditInputError(f"The history's target column {columns[-1]!r} has missing values. "
                              "Drop those rows first.")


def _match_label(labels: pd.Series, favorable: Any, target: str) -> Any:
    values = labels.unique().tolist()
    for value in values:
        if value == favorable or str(value) == str(favorable):
            return value
    raise AuditInputError(f"The favourable label {favorable!r} does not occur in {target!r}, which holds "
                          f"{[to_plain(v) for v in values[:10]]}. Pick one of those values.")


class _World:
    """One world's features, model and seen labels."""

    def __init__(self, features: pd.DataFrame, model: Any, rows: list[pd.DataFrame],
                 labels: list[np.ndarray]):
        self.features = features.copy()
        self.model = model
        self.rows = list(rows)
        self.labels = list(labels)
        self.seen_count: dict[str, int] = {}


def simulate_model_loop(params: ModelLoopParams, *, seed: int | None = None,
                        progress: Progress | None = None) -> SimulationResult:
    """Run the selective-labels loop and its full-information counterfactual.

    Parameters
    ----------
    params : ModelLoopParams
        The data, model and loop settings. An uploaded model file is retrained inside its sandbox.
    seed : int, optional
        Seed for the pools, the exploration draws, tie-breaking and the first training sample.
    progress : callable, optional
        Called with the fraction of rounds done.

    Returns
    -------
    SimulationResult
        ``series`` holds, per round and group, ``loop_selection_rate``,
        ``loop_true_positive_rate``, ``loop_labels_seen`` and the same for ``counterfactual``; and per
        round (group ``(all)``) the largest gaps ``*_selection_gap`` and ``*_tpr_gap``.
    """
    from auditapp.inputs.sandboxed_model import SandboxedModel

    learner = "the given model" if params.estimator is not None else DEFAULT_LEARNER
    if isinstance(params.estimator, SandboxedModel):
        names = _group_names(params.frame, params.sensitive)
        records = params.estimator.model_loop(params, seed=seed, names=names, worlds=WORLDS, progress=progress)
    else:
        records, names = loop_records(params, seed=seed, progress=progress)
    return _result(params, seed, records, names, learner)


def _group_names(frame: pd.DataFrame, sensitive: str) -> list[str]:
    groups = frame[sensitive].reset_index(drop=True)
    groups = groups.astype(object).where(groups.notna(), "(missing)").astype(str)
    return sorted(set(groups.tolist()))


def loop_records(params: ModelLoopParams, *, seed: int | None = None,
                 progress: Progress | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The rounds of both worlds with a model in this process: one record per round and world, holding
    each group's selection rate, true-positive rate and labels seen; and the group names."""
    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    frame = params.frame.reset_index(drop=True)
    features = frame[list(params.feature_columns)]
    if params.dynamics_feature is not None:
        features = features.astype({params.dynamics_feature: float})
    raw = frame[params.target].to_numpy()
    good = raw == params.favorable
    groups = frame[params.sensitive].astype(object).where(frame[params.sensitive].notna(), "(missing)")
    groups = groups.astype(str).to_numpy()
    names = sorted(set(groups.tolist()))
    base = params.estimator if params.estimator is not None else default_estimator(features)
    with threadpool_limits(1):
        rows, labels = [], []
        if params.history is not None:
            rows.append(params.history[list(params.feature_columns)].astype(features.dtypes.to_dict()))
            labels.append(params.history[params.target].to_numpy())
        fitted = is_fitted(base)
        if not fitted and not rows:
            start = rng.choice(len(frame), params.initial_size, replace=False)
            rows, labels = [features.iloc[start]], [raw[start]]
        first = base if fitted else _fit(clone(base), pd.concat(rows), np.concatenate(labels))
        if first is None:
            raise AuditInputError("The first training sample holds only one outcome. Raise the "
                                  "initial size or use a table with more of the rarer outcome.")
        worlds = {w: _World(features, first, rows, labels) for w in WORLDS}
        records = []
        for step in range(1, params.rounds + 1):
            pool = rng.choice(len(frame), params.pool_size, replace=False)
            explore = rng.random(params.pool_size) < params.exploration
            ties = rng.random(params.pool_size)
            for name, world in worlds.items():
                records.append(_round(step, name, world, pool, explore, ties, params, raw, good,
                                      groups, names, clone(base)))
            report_progress(progress, step / params.rounds)
    return records, names


def _fit(model: Any, rows: pd.DataFrame, labels: np.ndarray) -> Any | None:
    if len(pd.unique(labels)) < 2:
        return None
    return model.fit(rows, labels)


def _round(step: int, name: str, world: _World, pool: np.ndarray, explore: np.ndarray,
           ties: np.ndarray, params: ModelLoopParams, raw: np.ndarray, good: np.ndarray,
           groups: np.ndarray, names: list[str], fresh: Any) -> dict[str, Any]:
    rows = world.features.iloc[pool]
    score = positive_scores(world.model, rows, params.favorable)
    take = max(1, int(round(params.selection_rate * params.pool_size)))
    order = np.lexsort((ties, -score))
    selected = np.zeros(params.pool_size, dtype=bool)
    selected[order[:take]] = True
    chance = selected | explore
    revealed = chance if name == "loop" else np.ones_like(selected)
    record = {"round": step, "world": name}
    for group in names:
        member = groups[pool] == group
        positives = member & good[pool]
        world.seen_count[group] = world.seen_count.get(group, 0) + int((member & revealed).sum())
        record[group] = {
            "selection_rate": float(selected[member].mean()) if member.any() else float("nan"),
            "true_positive_rate": float(selected[positives].mean()) if positives.any() else float("nan"),
            "labels_seen": world.seen_count[group],
        }
    world.rows.append(rows.iloc[np.flatnonzero(revealed)])
    world.labels.append(raw[pool][revealed])
    if params.dynamics_feature is not None and params.dynamics_amount:
        winners = pool[chance & good[pool]]
        column = world.features.columns.get_loc(params.dynamics_feature)
        world.features.iloc[winners, column] = world.features.iloc[winners, column] + params.dynamics_amount
    refit = _fit(fresh, pd.concat(world.rows), np.concatenate(world.labels))
    if refit is not None:
        world.model = refit
    return record


def _result(params: ModelLoopParams, seed: int | None, records: list[dict[str, Any]], names: list[str],
            learner: str) -> SimulationResult:
    steps = np.arange(1, params.rounds + 1)
    parts: list[pd.DataFrame] = []
    summary: dict[str, Any] = {"learner": learner, "groups": names}
    for world in WORLDS:
        mine = [r for r in records if r["world"] == world]
        for key in ("selection_rate", "true_positive_rate", "labels_seen"):
            values = np.array([[r[g][key] for g in names] for r in mine], dtype=float)
            parts.append(tidy_series(steps, f"{world}_{key}", names, values))
            if key != "labels_seen":
                gap = _max_gap(values)
                short = "selection" if key == "selection_rate" else "tpr"
                parts.append(tidy_series(steps, f"{world}_{short}_gap", ["(all)"], gap))
                known = gap[np.isfinite(gap)]
                summary[f"{world}_mean_{short}_gap"] = float(known.mean()) if known.size else float("nan")
                summary[f"{world}_final_{short}_gap"] = float(gap[-1])
        summary[f"{world}_labels_seen"] = {g: int(mine[-1][g]["labels_seen"]) for g in names}
    rounds = [{"round": int(s),
               **{w: {g: {k: to_plain(r[g][k]) for k in ("selection_rate", "true_positive_rate")}
                      for g in names}
                  for w in WORLDS for r in records if r["round"] == s and r["world"] == w}}
              for s in steps]
    summary["rounds"] = rounds
    shown = {"frame": f"<table {params.frame.shape[0]} rows × {params.frame.shape[1]} columns>",
             "history": None if params.history is None else f"<table {len(params.history)} rows>",
             "estimator": learner if params.estimator is None else _learner_kind(params.estimator)}
    plain = {k: shown.get(k, to_plain(getattr(params, k))) for k in params.__dataclass_fields__}
    return SimulationResult(
        scenario="model-loop", params=plain, seed=seed, series=concat_series(parts),
        summary=summary, narrative=_narrative(params, summary),
    )


def _learner_kind(estimator: Any) -> str:
    """The estimator's class name (for a model in its sandbox, the class it reported)."""
    from auditapp.inputs.sandboxed_model import SandboxedModel

    return estimator.type_name if isinstance(estimator, SandboxedModel) else type(estimator).__name__


def _max_gap(values: np.ndarray) -> np.ndarray:
    """Largest minus smallest finite value per row; NaN where fewer than two groups have a value."""
    finite = np.isfinite(values)
    high = np.where(finite, values, -np.inf).max(axis=1)
    low = np.where(finite, values, np.inf).min(axis=1)
    return np.where(finite.sum(axis=1) >= 2, high - low, np.nan)


def _narrative(params: ModelLoopParams, summary: dict[str, Any]) -> tuple[str, ...]:
    loop, full = summary["loop_mean_selection_gap"], summary["counterfactual_mean_selection_gap"]
    seen = summary["loop_labels_seen"]
    fewest = min(seen, key=seen.get)
    lines = [
        f"The model is {summary['learner']}, retrained every round on the labels it has seen.",
        f"Over {params.rounds} rounds the largest gap in selection rate between groups of "
        f"{params.sensitive!r} averages {loop:.1%} when the model only learns from the people it "
        f"selected, against {full:.1%} when it sees every label.",
    ]
    if params.exploration < 1:
        lines.append(
            f"In the loop the model saw {seen[fewest]:,} labels from group {fewest}, the fewest of "
            "any group: it cannot learn that it misjudges people it never selects."
        )
    if loop > full + 0.01:
        lines.append("The loop keeps a gap that full information would shrink: its own decisions "
                     "starve it of the data that would correct them.")
    elif loop < full - 0.01:
        lines.append("Here the loop ends up with a smaller gap than full information.")
    else:
        lines.append("Here the loop and the full-information counterfactual end up close.")
    if params.exploration > 0:
        lines.append(f"Exploration gives {params.exploration:.0%} of the rejected applicants a chance "
                     "anyway, so the model also sees their outcomes.")
    lines.append("Try: raise the exploration rate and watch the two worlds converge; lower the "
                 "selection rate and watch the loop's gap persist.")
    return tuple(lines)


def model_loop_json(result: SimulationResult) -> dict[str, Any]:
    """The ``auditapp.simulate/1`` keys of a model-loop result."""
    keys = ("learner", "groups", "loop_mean_selection_gap", "counterfactual_mean_selection_gap",
            "loop_mean_tpr_gap", "counterfactual_mean_tpr_gap", "loop_labels_seen")
    return {"rounds": result.summary["rounds"], **{k: result.summary[k] for k in keys}}
