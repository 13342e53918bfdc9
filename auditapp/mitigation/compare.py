"""Compare bias mitigations on the same held-out rows: the public entry point of ``auditapp.mitigation``.

``compare_mitigations`` splits the data once (seeded, stratified by group × label, or the user's own
test table), trains every candidate on the same training rows and audits each on the same test rows
with :func:`auditapp.core.metrics.compute_audit`, so accuracy and disparities carry confidence intervals.
The groups it equalises are one grouping (default: the first sensitive feature alone; an intersection on
request), with each group's test rows counted and small groups flagged (:mod:`.grouping`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec, prepare
from auditapp.mitigation.candidates import CANDIDATES, DISPARITY, CandidateResult, MitigationContext
from auditapp.mitigation.grouping import GroupSizes, group_sizes, joined_labels, resolve_grouping
from auditapp.mitigation.runner import ProgressCallback, run_candidates
from auditapp.mitigation.split import SplitInfo, rows_fingerprint, stratified_split

CONSTRAINTS = tuple(DISPARITY)


@dataclass(frozen=True)
class Comparison:
    """Every candidate's result on one split.

    ``candidates`` are in the order asked for (cancelled ones are missing; see ``cancelled``).
    ``pareto`` names the candidates no other beats on both accuracy and the chosen disparity.
    ``test_rows`` holds the test rows' index, the grouping's features and the true labels (column
    ``target``), for export. ``grouping`` names the features whose groups were equalised and
    ``group_sizes`` their training and test rows.
    """

    constraint: str
    disparity_metric: str
    split: SplitInfo
    candidates: tuple[CandidateResult, ...]
    pareto: tuple[str, ...]
    cancelled: tuple[str, ...]
    notes: tuple[str, ...]
    test_rows: pd.DataFrame
    grouping: tuple[str, ...] = ()
    group_sizes: GroupSizes | None = None
    target: str = ""
    inner_fits: str = "converged"  # how the reductions refitted a logistic regression (mitigation.warm)

    def candidate(self, name: str) -> CandidateResult:
        """The result of one candidate by name."""
        for result in self.candidates:
            if result.name == name:
                return result
        raise KeyError(f"No candidate {name!r}; have {[c.name for c in self.candidates]}")


def _check_options(constraint: Any, candidates: Any, n_jobs: Any, grid_size: Any = 20,
                   inner_fits: Any = "converged") -> None:
    from auditapp.mitigation.constraints import INNER_FITS, MAX_GRID_POINTS

    if inner_fits not in INNER_FITS:
        raise AuditInputError(f"Unknown way to refit the reductions' learner '{inner_fits}'. Use one of: "
                              f"{', '.join(INNER_FITS)}.")

    if not 1 <= int(grid_size) <= MAX_GRID_POINTS:
        raise AuditInputError(f"GridSearch's grid size must be between 1 and {MAX_GRID_POINTS}, got {grid_size}.")
    if constraint not in CONSTRAINTS:
        raise AuditInputError(
            f"Unknown constraint '{constraint}'. Use one of: {', '.join(CONSTRAINTS)}."
        )
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown or not candidates:
        raise AuditInputError(
            f"Unknown candidate(s) {', '.join(map(repr, unknown)) or '(none given)'}. "
            f"Choose from: {', '.join(CANDIDATES)}."
        )
    if not 1 <= int(n_jobs) <= 64:
        raise AuditInputError(f"The number of parallel jobs must be at least 1, got {n_jobs}.")


def _labels(sensitive_features: pd.DataFrame) -> np.ndarray:
    return joined_labels(sensitive_features)


def _source(spec: AuditSpec, model: Any) -> str:
    if model is not None:
        return f"{model.format} model {model.name}"
    return f"prediction column '{spec.prediction}'" if spec.prediction else f"score column '{spec.score}'"


def _positive_class(spec: AuditSpec, model: Any) -> Any:
    if model is None:
        return 1
    from auditapp.inputs.models import match_favorable_class

    return match_favorable_class(model, spec.favorable, model_favorable=spec.model_favorable)


def default_candidates(*, can_refit: bool, constraint: str) -> tuple[str, ...]:
    """Every candidate that applies: no refit clone for models that cannot be refitted, no
    ThresholdOptimizer for error-rate parity (it does not support it)."""
    from auditapp.mitigation.constraints import THRESHOLD_CONSTRAINTS

    return tuple(c for c in CANDIDATES
                 if (can_refit or c != "baseline_refit")
                 and (constraint in THRESHOLD_CONSTRAINTS or c != "threshold_optimizer"))


def compare_mitigations(
    frame: pd.DataFrame, spec: AuditSpec, model: Any = None, *, constraint: str = "demographic_parity",
    candidates: Sequence[str] | None = None, test_size: float = 0.3, test_frame: pd.DataFrame | None = None,
    objective: str = "accuracy_score", features: Sequence[str] | None = None, grid_size: int = 20,
    row_key: str | None = None, n_jobs: int = 1, on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None, grouping: Sequence[str] | str | None = None,
    inner_fits: str = "converged",
) -> Comparison:
    """Train and evaluate mitigation candidates on one shared split.

    Parameters
    ----------
    frame : DataFrame
        The dataset (training part and, unless ``test_frame`` is given, the test part).
    spec : AuditSpec
        Target, favourable value, sensitive features, prediction source and audit settings
        (reference groups, minimum group size, bootstrap replicates, confidence, ``seed``).
    model : AuditModel, optional
        The uploaded model. Without one, ``spec.prediction`` or ``spec.score`` is the baseline.
    constraint : str
        ``demographic_parity``, ``equalized_odds``, ``true_positive_rate_parity`` or
        ``error_rate_parity``; it picks the disparity each result reports.
    candidates : sequence of str, optional
        Names from ``CANDIDATES``; default :func:`default_candidates`.
    test_size : float
        Share of rows held out when ``test_frame`` is None.
    test_frame : DataFrame, optional
        The user's own test table; then all of ``frame`` is training data.
    objective : str
        ThresholdOptimizer's objective, ``accuracy_score`` or ``balanced_accuracy_score``.
    features : sequence of str, optional
        Columns a default learner may use; default the model's features, or every column that is
        not the target, sensitive, a prediction/score column, constant or a row id.
    grid_size : int
        GridSearch's smallest number of grid points; it gets at least the 2**dimensions fairlearn
        recommends for the constraint and groups (or is not run when that is too many).
    row_key : str, optional
        A column that identifies each person (e.g. an applicant id). The randomised candidates decide
        each row by a seeded hash of it; by default, of the row's content.
    n_jobs : int
        Candidates run side by side in up to ``min(n_jobs, 2)`` processes.
    on_progress : callable, optional
        ``on_progress(name, status, result_or_None)``; see :mod:`auditapp.mitigation.runner`.
    should_stop : callable, optional
        Returns True to cancel the remaining candidates.
    grouping : sequence of str, optional
        The sensitive features whose groups the candidates equalise and the disparity compares. Default:
        the first sensitive feature alone; several features mean their intersection (many smaller groups).
    inner_fits : str
        How ExponentiatedGradient and GridSearch refit a logistic regression: ``"converged"`` (default: its
        one optimum, solved exactly from the nearest earlier refit, :mod:`auditapp.mitigation.warm`) or
        ``"as_given"`` (with its own solver and tolerance, exactly as fairlearn does).

    Returns
    -------
    Comparison

    Raises
    ------
    AuditInputError
        For an unknown constraint or candidate, a bad test share, no usable feature columns, a grouping
        that is not made of the spec's sensitive features, or any problem ``prepare`` finds in the spec.
    """
    from auditapp.mitigation.learners import infer_features

    sensitive = tuple(spec.sensitive)
    chosen = resolve_grouping(sensitive, grouping)
    spec = replace(spec, sensitive=chosen, reference={k: v for k, v in spec.reference.items() if k in chosen},
                   bins={k: v for k, v in spec.bins.items() if k in chosen})
    can_refit = model is not None and model.refittable
    names = tuple(candidates) if candidates is not None else default_candidates(can_refit=can_refit,
                                                                                 constraint=constraint)
    _check_options(constraint, names, n_jobs, grid_size, inner_fits)
    if test_frame is None and not 0.05 <= float(test_size) <= 0.9:
        stratified_split([], test_size=test_size)
    _check_row_key(row_key, frame, test_frame)
    _warm_up(model, names, n_jobs)
    spec = _with_resolved_bins(frame, spec)
    data = prepare(frame, spec, model)
    notes = list(data.notices)
    groups = _labels(data.sensitive_features)
    if test_frame is None:
        strata = np.char.add(np.char.add(groups, "|"), data.y_true.astype(str))
        train_pos, test_pos = stratified_split(strata, test_size=test_size, seed=spec.seed)
        train, test = frame.iloc[train_pos], frame.iloc[test_pos]
        test_data = None
        source = "split"
    else:
        test_data = prepare(test_frame, spec, model)
        train_pos, test_pos = np.arange(len(frame)), np.arange(len(test_frame))
        train, test = frame, test_frame
        source = "test file"
    test_of = test_data or data
    test_groups = groups[test_pos] if test_data is None else _labels(test_data.sensitive_features)
    y_test = test_of.y_true[test_pos] if test_data is None else test_data.y_true
    sensitive_test = test_of.sensitive_features.iloc[test_pos if test_data is None else slice(None)]
    model_features = tuple(model.feature_names) if model is not None else ()
    excluded = [spec.target, *sensitive, *(c for c in (spec.prediction, spec.score) if c)]
    if features is not None:
        missing = [c for c in features if c not in frame.columns or c in excluded]
        if missing:
            raise AuditInputError(
                f"The learner features {', '.join(missing)} are not columns of the dataset, or are the "
                "target, a sensitive or a prediction column. Pick other feature columns."
            )
        learner_features = tuple(features)
    elif model is not None:
        learner_features = model_features
    else:
        learner_features, feature_notes = infer_features(frame, exclude=excluded)
        notes.extend(feature_notes)
    needs_learner = any(n in ("reweighing", "correlation_remover", "exponentiated_gradient", "grid_search")
                        for n in names)
    if needs_learner and not learner_features:
        raise AuditInputError(
            "There are no feature columns to train a learner on (every column is the target, a sensitive "
            "feature, a prediction/score column, constant or a row id). Add feature columns or run only "
            "the baseline and threshold_optimizer candidates."
        )
    if test_frame is not None:
        missing = [c for c in {*learner_features, *model_features, *spec.sensitive} if c not in test_frame.columns]
        if missing:
            raise AuditInputError(
                f"The test table lacks the column(s) {', '.join(sorted(missing))} that the training table "
                "has. Give a test table with the same columns."
            )
    ctx = MitigationContext(
        train=train, test=test, y_train=data.y_true[train_pos], y_test=y_test,
        groups_train=groups[train_pos], groups_test=test_groups,
        sensitive_test=sensitive_test.reset_index(drop=True), sensitive=tuple(spec.sensitive),
        constraint=constraint, objective=objective,
        estimator=model.learner if model is not None else None, can_refit=can_refit,
        model_features=model_features, learner_features=learner_features,
        scores_train=None if data.y_score is None else data.y_score[train_pos],
        scores_test=None if test_of.y_score is None else test_of.y_score[test_pos if test_data is None else slice(None)],
        pred_train=data.y_pred[train_pos],
        pred_test=test_of.y_pred[test_pos] if test_data is None else test_data.y_pred,
        score_source=_source(spec, model), positive_class=_positive_class(spec, model),
        reference=dict(spec.reference),
        min_group_size=spec.min_group_size, n_boot=spec.n_boot, confidence=spec.confidence, seed=spec.seed,
        grid_size=grid_size, bins={name: tuple(b.edges or ()) for name, b in spec.bins.items()}, row_key=row_key,
        inner_fits=inner_fits,
    )
    fingerprint = rows_fingerprint(test.index, y_test)
    split = SplitInfo(source=source, train_rows=len(train_pos), test_rows=len(y_test), seed=spec.seed,
                      test_size=test_size if test_frame is None else None, train_positions=train_pos, test_positions=test_pos,
                      test_rows_sha256=fingerprint)
    done, cancelled = run_candidates(ctx, names, n_jobs=n_jobs, on_progress=on_progress, should_stop=should_stop)
    results = tuple(_checked(done[n], fingerprint) for n in names if n in done)
    test_rows = sensitive_test.reset_index(drop=True).copy()
    test_rows.insert(0, "row", list(test.index))
    test_rows[spec.target] = y_test
    sizes = group_sizes(groups[train_pos], test_groups, y_test, grouping=chosen, min_group_size=spec.min_group_size)
    return Comparison(constraint=constraint, disparity_metric=DISPARITY[constraint], split=split,
                      candidates=results, pareto=pareto_front(results), cancelled=cancelled,
                      notes=tuple(notes), test_rows=test_rows, grouping=chosen, group_sizes=sizes,
                      target=spec.target, inner_fits=inner_fits)


def _warm_up(model: Any, names: Any, n_jobs: int) -> None:
    """A model file's second model process starts now, while the rows are prepared, so that both slots of
    a side-by-side run (:mod:`.schedule`) have one when the candidates start."""
    from auditapp.inputs.sandboxed_model import SandboxedModel
    from auditapp.mitigation.runner import MAX_WORKERS

    learner = getattr(model, "learner", None)
    if isinstance(learner, SandboxedModel) and min(int(n_jobs), MAX_WORKERS) > 1 and len(names) > 1:
        learner.warm_up(min(int(n_jobs), MAX_WORKERS))


def _check_row_key(row_key: Any, frame: pd.DataFrame, test_frame: pd.DataFrame | None) -> None:
    if row_key is None:
        return
    for what, table in (("dataset", frame), ("test table", test_frame)):
        if table is not None and row_key not in table.columns:
            raise AuditInputError(
                f"The row key column '{row_key}' is not in the {what}. Name a column that identifies each "
                "person (e.g. an id), or leave it empty to key the rows on their content."
            )


def _with_resolved_bins(frame: pd.DataFrame, spec: AuditSpec) -> AuditSpec:
    """The spec with quantile bins turned into the edges they have on ``frame``, so that the training rows,
    the test rows and an exported model all cut the same bins."""
    from auditapp.core.spec import Binning, bin_edges

    if not spec.bins:
        return spec
    if any(c not in frame.columns for c in spec.bins):
        return spec  # prepare() names the missing column
    edges = bin_edges(frame, spec)
    return replace(spec, bins={name: Binning(edges=edges[name]) for name in spec.bins})


def _checked(result: CandidateResult, fingerprint: str) -> CandidateResult:
    """Refuse a result evaluated on other rows than the shared test part."""
    if result.test_rows_sha256 == fingerprint or result.error:
        return result
    return replace(result, error="This candidate was evaluated on different test rows than the others, "
                                 "so its numbers are not comparable.", accuracy=None, disparity=None)


def pareto_front(results: Sequence[CandidateResult]) -> tuple[str, ...]:
    """Names of the results no other result beats on both accuracy (higher) and disparity (lower)."""
    points = [(r.name, r.accuracy.value, r.disparity.value) for r in results
              if r.error is None and r.accuracy is not None and r.disparity is not None
              and math.isfinite(r.accuracy.value) and math.isfinite(r.disparity.value)]
    front = []
    for name, accuracy, disparity in points:
        dominated = any(a >= accuracy and d <= disparity and (a > accuracy or d < disparity)
                        for other, a, d in points if other != name)
        if not dominated:
            front.append(name)
    return tuple(front)
