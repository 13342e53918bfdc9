"""The mitigation candidates: what each trains, on which learner, and how it is evaluated.

Every candidate gets the same :class:`MitigationContext` (training and test rows, labels, groups,
the uploaded model's scores) and is evaluated by :func:`auditapp.mitigation.evaluation.evaluate` on the
same test rows, so every number comes with a confidence interval. The randomised candidates
(ExponentiatedGradient, ThresholdOptimizer) are reported as their expectation with the spread of single
draws beside it; their decisions on the test rows (and their exported models') are keyed by a seeded
hash of each row, never by row order. Warnings raised while fitting are kept in the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.defaults import MIN_GROUP_SIZE, N_BOOT
from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import AuditResult, GroupingResult
from auditapp.mitigation.evaluation import Estimate, evaluate
from auditapp.mitigation.expectation import DrawSpread
from auditapp.mitigation.split import rows_fingerprint

log = logging.getLogger(__name__)

FAMILIES = {
    "baseline": "baseline", "baseline_refit": "baseline", "reweighing": "pre",
    "correlation_remover": "pre", "exponentiated_gradient": "in", "grid_search": "in",
    "threshold_optimizer": "post",
}
CANDIDATES = tuple(FAMILIES)
TITLES = {
    "baseline": "Uploaded model as it is", "baseline_refit": "Uploaded model refitted on the training part",
    "reweighing": "Reweighing (Kamiran & Calders)", "correlation_remover": "CorrelationRemover",
    "exponentiated_gradient": "ExponentiatedGradient", "grid_search": "GridSearch",
    "threshold_optimizer": "ThresholdOptimizer",
}
DISPARITY = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "true_positive_rate_parity": "equal_opportunity_difference",
    "error_rate_parity": "accuracy_equality_difference",
}
CORRELATION_NOTE = (
    "CorrelationRemover subtracts from each feature the part explained by the sensitive attribute, "
    "so it needs every new person's sensitive attribute too."
)


__all__ = ["CANDIDATES", "CandidateResult", "Estimate", "MitigationContext", "evaluate", "run_candidate"]


@dataclass(frozen=True)
class MitigationContext:
    """Everything a candidate needs; picklable, so it can be sent to a worker process."""

    train: pd.DataFrame
    test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    groups_train: np.ndarray
    groups_test: np.ndarray
    sensitive_test: pd.DataFrame
    sensitive: tuple[str, ...]
    constraint: str
    objective: str
    estimator: object | None  # a fitted estimator, or a SandboxedModel (candidates then train in its sandbox)
    can_refit: bool
    model_features: tuple[str, ...]
    learner_features: tuple[str, ...]
    scores_train: np.ndarray | None
    scores_test: np.ndarray | None
    pred_train: np.ndarray
    pred_test: np.ndarray
    score_source: str
    positive_class: object = 1
    reference: Mapping[str, str] = field(default_factory=dict)
    min_group_size: int = MIN_GROUP_SIZE
    n_boot: int = N_BOOT
    confidence: float = 0.95
    seed: int = 0
    grid_size: int = 20
    eg_max_iter: int = 50
    inner_fits: str = "converged"  # the reductions' logistic regressions: "converged" or "as_given" (.warm)
    bins: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    row_key: str | None = None

    @cached_property
    def test_rows_sha256(self) -> str:
        """sha256 of the test rows (every candidate's result carries it): computed once per comparison."""
        return rows_fingerprint(self.test.index, self.y_test)


@dataclass(frozen=True)
class CandidateResult:
    """One candidate evaluated on the test rows.

    ``audit`` holds every grouping (per group rates with CIs); ``grouping`` is the intersection of
    all sensitive features, on which ``disparity`` and ``criteria`` are computed. ``model`` is the
    fitted mitigated model (None when it cannot be saved, e.g. an ONNX baseline).

    A ``randomized`` candidate's numbers are expectations over its random decisions; ``draws`` holds
    their spread over seeded single draws, and ``y_score`` each test row's probability of the
    favourable decision. ``warnings`` are the library warnings raised while it was fitted.
    A model trained in the sandbox is an :class:`~auditapp.inputs.sandboxed_model.ExportedModel` (skops bytes).
    """

    name: str
    family: str
    title: str
    learner: str
    accuracy: Estimate | None
    balanced_accuracy: Estimate | None
    disparity_metric: str
    disparity: Estimate | None
    criteria: Mapping[str, Estimate]
    audit: AuditResult | None
    needs_sensitive_at_predict: bool
    sensitive_note: str
    fit_seconds: float
    notes: tuple[str, ...]
    error: str | None
    test_rows_sha256: str
    randomized: bool = False
    draws: DrawSpread | None = None
    warnings: tuple[str, ...] = ()
    y_pred: np.ndarray | None = field(default=None, repr=False, compare=False)
    y_score: np.ndarray | None = field(default=None, repr=False, compare=False)
    model: object | None = field(default=None, repr=False, compare=False)

    @property
    def grouping(self) -> GroupingResult | None:
        return None if self.audit is None else self.audit.groupings[-1]


@dataclass
class _Fitted:
    y_pred: np.ndarray
    y_score: np.ndarray | None
    model: object | None
    learner: str
    notes: list[str]
    needs_sensitive: bool = False
    sensitive_note: str = ""
    probabilities: np.ndarray | None = None
    warnings: tuple[str, ...] = ()  # raised where the candidate was fitted (the sandbox's own)


def _refit_learner(ctx: MitigationContext, notes: list[str], *, fast: bool = False) -> Any:
    """The user's learner (unfitted clone) and its features, or the default learner with a note."""
    from sklearn.base import clone

    from auditapp.mitigation.learners import DEFAULT_LEARNER, default_learner, is_fast_learner

    if ctx.estimator is not None and ctx.can_refit:
        if not fast or is_fast_learner(ctx.estimator):
            return clone(ctx.estimator), ctx.model_features, f"uploaded model's learner ({_kind(ctx.estimator)})"
        notes.append(
            f"The uploaded learner ({_kind(ctx.estimator)}) would be refitted tens of times by this "
            f"reduction and take minutes, so it trains the {DEFAULT_LEARNER} instead."
        )
    elif ctx.estimator is None or not ctx.can_refit:
        notes.append(f"The uploaded model cannot be refitted ({ctx.score_source}), so this candidate "
                     f"trains the {DEFAULT_LEARNER}.")
    return default_learner(ctx.train, ctx.learner_features), ctx.learner_features, "default learner"


def _kind(estimator: Any) -> str:
    from auditapp.mitigation.learners import final_step

    return type(final_step(estimator)[1]).__name__


def _predict(model: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Decisions by the audit's one tie rule (probability ≥ 0.5 is favourable), or ``predict`` without probabilities."""
    from auditapp.core.spec import DEFAULT_THRESHOLD
    from auditapp.mitigation.learners import positive_scores

    scores = positive_scores(model, X)
    if scores is None:
        return np.asarray(model.predict(X)).astype(np.int8), None
    return (scores >= DEFAULT_THRESHOLD).astype(np.int8), scores


def _key_note(ctx: Any, columns: Any) -> str:
    from auditapp.mitigation.draws import describe_keys

    return describe_keys(ctx.test, columns, row_key=ctx.row_key, seed=ctx.seed)


def _fit_baseline(ctx: Any, notes: Any) -> Any:
    notes.append("The uploaded model is evaluated as it is; if it was trained on some of these test rows, "
                 "its numbers are optimistic.")
    return _Fitted(ctx.pred_test.astype(np.int8), ctx.scores_test, ctx.estimator, "uploaded model", notes)


def _fit_baseline_refit(ctx: Any, notes: Any) -> Any:
    from sklearn.base import clone

    if ctx.estimator is None or not ctx.can_refit:
        raise AuditInputError(f"The uploaded model cannot be refitted ({ctx.score_source}); "
                              "drop 'baseline_refit' from the candidates.")
    from auditapp.mitigation.design import fit_whole

    features = list(ctx.model_features)
    model = fit_whole(clone(ctx.estimator), ctx.train[features], ctx.y_train)
    y_pred, y_score = _predict(model, ctx.test[features])
    return _Fitted(y_pred, y_score, model, f"uploaded model's learner ({_kind(model)})", notes)


def _fit_reweighing(ctx: Any, notes: Any) -> Any:
    from auditapp.mitigation.learners import sample_weight_name
    from auditapp.mitigation.pre import fit_with_weights, reweighing_weights

    learner, features, label = _refit_learner(ctx, notes)
    if sample_weight_name(learner) is None:
        from auditapp.mitigation.learners import DEFAULT_LEARNER, default_learner

        notes.append(f"{_kind(learner)} takes no sample weights, so reweighing trains the {DEFAULT_LEARNER}.")
        learner, features, label = default_learner(ctx.train, ctx.learner_features), ctx.learner_features, \
            "default learner"
    weights = reweighing_weights(ctx.y_train, ctx.groups_train)
    model = fit_with_weights(learner, ctx.train[list(features)], ctx.y_train, weights)
    y_pred, y_score = _predict(model, ctx.test[list(features)])
    return _Fitted(y_pred, y_score, model, label, notes)


def _fit_correlation_remover(ctx: Any, notes: Any) -> Any:
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from auditapp.mitigation.learners import final_step, is_fast_learner
    from auditapp.mitigation.pre import correlation_remover_pipeline

    if ctx.estimator is not None and ctx.can_refit and is_fast_learner(ctx.estimator):
        last = clone(final_step(ctx.estimator)[1])
        label = f"uploaded model's learner ({type(last).__name__}) after the default encoding"
        features = ctx.model_features
    else:
        last, label = LogisticRegression(max_iter=1000), "default learner (logistic regression)"
        features = ctx.model_features or ctx.learner_features
        if ctx.estimator is not None and ctx.can_refit:
            notes.append(f"CorrelationRemover removes only the linear link to the sensitive attribute; a "
                         f"{_kind(ctx.estimator)} could read the attribute back from the adjusted values, "
                         "so this candidate trains a logistic regression.")
        else:
            notes.append(f"The uploaded model cannot be refitted ({ctx.score_source}), so this candidate "
                         "trains a logistic regression.")
    features = [c for c in features if c not in ctx.sensitive]
    columns = [*features, *ctx.sensitive]
    model = correlation_remover_pipeline(ctx.train[columns], features, ctx.sensitive, last)
    model.fit(ctx.train[columns], ctx.y_train)
    y_pred, y_score = _predict(model, ctx.test[columns])
    return _Fitted(y_pred, y_score, model, label, notes, True, CORRELATION_NOTE)


def _fit_exponentiated_gradient(ctx: Any, notes: Any) -> Any:
    from auditapp.mitigation.draws import key_columns
    from auditapp.mitigation.inprocessing import fit_exponentiated_gradient

    learner, features, label = _refit_learner(ctx, notes, fast=True)
    model = fit_exponentiated_gradient(learner, ctx.train[list(features)], ctx.y_train, ctx.groups_train,
                                       constraint=ctx.constraint, max_iter=ctx.eg_max_iter, seed=ctx.seed,
                                       row_key=ctx.row_key, inner_fits=ctx.inner_fits, notes=notes)
    X = ctx.test[list(dict.fromkeys([*features, *([ctx.row_key] if ctx.row_key else [])]))]
    notes.append("ExponentiatedGradient returns a random mix of models. "
                 + _key_note(ctx, key_columns(list(getattr(model, "feature_names_in_", X.columns)), ctx.row_key)))
    decisions, probabilities = model.decide(X)  # as model.predict and model.predict_proba give them
    return _Fitted(np.asarray(decisions).astype(np.int8), probabilities, model, label, notes,
                   probabilities=probabilities)


def _fit_grid_search(ctx: Any, notes: Any) -> Any:
    from auditapp.mitigation.inprocessing import fit_grid_search, plan_grid

    learner, features, label = _refit_learner(ctx, notes, fast=True)
    plan = plan_grid(ctx.constraint, ctx.y_train, ctx.groups_train,
                     requested=ctx.grid_size)
    if plan.skip_reason:
        raise AuditInputError(plan.skip_reason)
    notes.append(plan.note)
    model = fit_grid_search(learner, ctx.train[list(features)], ctx.y_train, ctx.groups_train,
                            constraint=ctx.constraint, grid_size=plan.points, inner_fits=ctx.inner_fits,
                            notes=notes)
    y_pred, y_score = _predict(model, ctx.test[list(features)])
    return _Fitted(y_pred, y_score, model, label, notes)


def _fit_threshold_optimizer(ctx: Any, notes: Any) -> Any:
    from auditapp.mitigation.draws import key_columns, keyed_decisions
    from auditapp.mitigation.post import (
        SENSITIVE_AT_PREDICT,
        GroupThresholdClassifier,
        fit_threshold_rules,
        threshold_probabilities,
    )

    model, label = None, f"thresholds on the {ctx.score_source}'s scores"
    scores_train, scores_test = ctx.scores_train, ctx.scores_test
    if scores_train is None:
        scores_train, scores_test = ctx.pred_train.astype(np.float64), ctx.pred_test.astype(np.float64)
        label = f"random mix of the {ctx.score_source}'s labels"
        notes.append("Only predicted labels are available, so ThresholdOptimizer mixes the two labels "
                     "at random per group instead of moving a score threshold.")
    notes.append("ThresholdOptimizer post-processes the uploaded model as it is (prefit); if that model was "
                 "trained on some of the training rows, its scores there are overconfident and the "
                 "thresholds can transfer less well to new rows.")
    rules = fit_threshold_rules(scores_train, ctx.y_train, ctx.groups_train, constraint=ctx.constraint,
                                objective=ctx.objective)
    probabilities = threshold_probabilities(scores_test, ctx.groups_test, rules)
    if ctx.estimator is not None and ctx.scores_train is not None:
        model = GroupThresholdClassifier(estimator=ctx.estimator, rules=rules, feature_columns=ctx.model_features,
                                         sensitive_columns=ctx.sensitive, positive_class=ctx.positive_class,
                                         random_state=ctx.seed, bins=dict(ctx.bins) or None,
                                         row_key=ctx.row_key).fit()
        y_pred = model.predict(ctx.test)
        columns = key_columns(list(model.feature_names_in_), ctx.row_key)
        if ctx.bins:
            notes.append("The saved model bins " + ", ".join(ctx.bins) + " itself with the audit's edges, so it "
                         "takes the raw values.")
    else:
        notes.append(f"The result cannot be saved as a model file: the {ctx.score_source} is not a "
                     "scikit-learn model.")
        # No model file will decide later, so the test rows' whole content (or the row key) keys the draws.
        columns = key_columns(list(map(str, ctx.test.columns)), ctx.row_key)
        y_pred = keyed_decisions(probabilities, ctx.test, columns, seed=ctx.seed)
    notes.append("Decisions near a group's threshold are random. " + _key_note(ctx, columns))
    return _Fitted(np.asarray(y_pred).astype(np.int8), probabilities, model, label, notes, True,
                   SENSITIVE_AT_PREDICT, probabilities=probabilities)


FITTERS = {
    "baseline": _fit_baseline, "baseline_refit": _fit_baseline_refit, "reweighing": _fit_reweighing,
    "correlation_remover": _fit_correlation_remover, "exponentiated_gradient": _fit_exponentiated_gradient,
    "grid_search": _fit_grid_search, "threshold_optimizer": _fit_threshold_optimizer,
}


def _fit(ctx: MitigationContext, name: str, notes: list[str]) -> _Fitted:
    """Train candidate ``name``: here, or inside the sandbox when the uploaded model lives there."""
    from auditapp.inputs.sandboxed_model import SandboxedModel

    if not isinstance(ctx.estimator, SandboxedModel):
        result2: _Fitted = FITTERS[name](ctx, notes)
        return result2
    if name == "baseline":
        uploaded = _uploaded_file(ctx.estimator)
        if uploaded is not None:  # nothing to train: no model process needed
            fitted = _fit_baseline(ctx, notes)
            fitted.model = uploaded
            result: _Fitted = fitted
            return result
    answer = ctx.estimator.fit_candidate(ctx, name)
    notes.extend(answer["notes"])
    return _Fitted(answer["y_pred"], answer["y_score"], answer["model"], answer["learner"], notes,
                   answer["needs_sensitive"], answer["sensitive_note"],
                   probabilities=answer["y_score"] if answer["randomized"] else None,
                   warnings=tuple(answer["warnings"]))


def _uploaded_file(model: Any) -> Any:
    """The uploaded skops file itself, as the baseline's model to export (its bytes, never loaded here);
    None when the model process must say how to save it (ONNX, a trusted pickle) or how it decides (a
    randomised mitigation exported by auditapp)."""
    from auditapp.inputs.sandboxed_model import ExportedModel
    from auditapp.mitigation.export import decision_text

    if model.ref.format != "skops" or model.decides_at_random:
        return None
    return ExportedModel(model.ref.read(), tuple(model.feature_names), decision_text(model))


def needs_model_process(ctx: MitigationContext, name: str) -> bool:
    """Whether training ``name`` takes one of the comparison's model processes (a side-by-side slot): all
    candidates of a sandboxed model but the baseline of a skops upload, which has nothing to train."""
    from auditapp.inputs.sandboxed_model import SandboxedModel

    if not isinstance(ctx.estimator, SandboxedModel):
        return True
    return not (name == "baseline" and _uploaded_file(ctx.estimator) is not None)


def run_candidate(ctx: MitigationContext, name: str, *, trained: Callable[[], None] | None = None) -> CandidateResult:
    """Fit and evaluate one candidate; a failure becomes a result whose ``error`` says what went wrong.

    ``trained`` is called once training has ended (or failed), before the evaluation: the model process
    is then free for the next candidate while this one's intervals are computed.
    """
    from threadpoolctl import threadpool_limits

    from auditapp.inputs.sandboxed_model import SandboxedModel
    from auditapp.mitigation.library_warnings import captured_warnings

    family, metric = FAMILIES[name], DISPARITY[ctx.constraint]
    notes: list[str] = []
    start = time.perf_counter()
    captured = captured_warnings()
    # One BLAS/OpenMP thread for a fit here; a model process limits its own (and finding this process's
    # thread pools costs ~10 ms per candidate, which a sandboxed candidate need not pay).
    here = not isinstance(ctx.estimator, SandboxedModel)
    try:
        try:
            with threadpool_limits(limits=1) if here else nullcontext(), captured:
                fitted = _fit(ctx, name, notes)
        finally:
            if trained is not None:
                trained()
        seconds = time.perf_counter() - start
        evaluation = evaluate(ctx, fitted.y_pred, fitted.probabilities)
    except Exception as exc:  # noqa: BLE001
        # One failing candidate must not stop the others: the message goes into its result, which the
        # page and the JSON show; the traceback is logged unless the input was at fault.
        if isinstance(exc, AuditInputError):
            log.info("mitigation candidate %s not run: %s", name, exc)
        else:
            log.exception("mitigation candidate %s failed", name)
        return CandidateResult(
            name=name, family=family, title=TITLES[name], learner="", accuracy=None, balanced_accuracy=None,
            disparity_metric=metric, disparity=None, criteria={}, audit=None,
            needs_sensitive_at_predict=family == "post", sensitive_note="",
            fit_seconds=time.perf_counter() - start, notes=tuple(notes),
            error=f"{type(exc).__name__}: {exc}" if not isinstance(exc, AuditInputError) else str(exc),
            test_rows_sha256=ctx.test_rows_sha256, warnings=tuple(getattr(captured, "messages", ())),
        )
    return CandidateResult(
        name=name, family=family, title=TITLES[name], learner=fitted.learner, accuracy=evaluation.accuracy,
        balanced_accuracy=evaluation.balanced_accuracy, disparity_metric=metric,
        disparity=evaluation.criteria[metric], criteria=evaluation.criteria, audit=evaluation.audit,
        needs_sensitive_at_predict=fitted.needs_sensitive, sensitive_note=fitted.sensitive_note,
        fit_seconds=seconds, notes=tuple(fitted.notes), error=None, test_rows_sha256=ctx.test_rows_sha256,
        randomized=fitted.probabilities is not None, draws=evaluation.draws,
        warnings=tuple(dict.fromkeys([*captured.messages, *fitted.warnings])),
        y_pred=fitted.y_pred, y_score=fitted.y_score, model=fitted.model,
    )
