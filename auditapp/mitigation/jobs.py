"""Run a mitigation comparison for an app user's state, cache it, and describe it for the page.

:func:`run_comparison` caches a comparison in the artifact store by ``(dataset sha256, model sha256, spec,
constraint, candidates)`` so every web worker can read it; :class:`ProgressBoard` tracks each candidate while
it runs; the rest turns a comparison into table rows and sentences whose every number comes from the engine.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from auditapp.errors import AuditInputError
from auditapp.mitigation import wording
from auditapp.mitigation.candidates import CANDIDATES, FAMILIES, TITLES

FAMILY_LABELS = {"baseline": "Baseline", "pre": "Pre-processing", "in": "In-processing", "post": "Post-processing"}
CONSTRAINT_TEXT = {
    "demographic_parity": (
        "Demographic parity: every group is selected at the same rate, whatever their true labels. "
        "Reported as the selection-rate gap between groups."),
    "equalized_odds": (
        "Equalized odds: among people who deserve the favourable outcome, and among people who do not, every "
        "group is selected at the same rate. Reported as the largest gap in true- or false-positive rate."),
    "true_positive_rate_parity": (
        "True-positive-rate parity (equal opportunity): among people who deserve the favourable outcome, every "
        "group gets it equally often. Reported as the true-positive-rate gap."),
    "error_rate_parity": (
        "Error-rate parity: the model is wrong equally often for every group. Reported as the error-rate gap. "
        "ThresholdOptimizer does not support this constraint."),
}
DISPARITY_SHORT = {
    "demographic_parity_difference": "selection-rate gap",
    "equalized_odds_difference": "equalized-odds gap",
    "equal_opportunity_difference": "true-positive-rate gap",
    "accuracy_equality_difference": "error-rate gap",
}


def chosen_candidates(candidates: Sequence[str] | None) -> tuple[str, ...]:
    """The chosen candidate names in the engine's order (so the cache key ignores click order).

    Raises
    ------
    AuditInputError
        If none is chosen or a name is unknown.
    """
    chosen = [str(c) for c in (candidates or [])]
    unknown = [c for c in chosen if c not in CANDIDATES]
    if unknown:
        raise AuditInputError(f"Unknown candidate(s) {', '.join(unknown)}. Choose from: {', '.join(CANDIDATES)}.")
    if not chosen:
        raise AuditInputError("No candidate is ticked. Tick at least one candidate, then press Run.")
    return tuple(c for c in CANDIDATES if c in chosen)


def comparison_key(store, token: str, state: dict, *, constraint: str, candidates: Sequence[str]) -> tuple:
    """The cache key of a comparison: the state's content key plus the constraint and candidates."""
    from auditapp.workspace import state_key

    if not state or not state.get("dataset"):
        raise AuditInputError("No dataset yet: upload one on the Data & model page or pick a scenario.")
    return ("mitigation", *state_key(store, token, state), str(constraint), chosen_candidates(candidates))


class _Incomplete(Exception):
    """A cancelled comparison: returned to the caller, never cached."""

    def __init__(self, comparison):
        super().__init__("cancelled")
        self.comparison = comparison


def run_comparison(store, token: str, state: dict, *, constraint: str, candidates: Sequence[str],
                   n_jobs: int = 1, on_progress: Callable | None = None,
                   should_stop: Callable[[], bool] | None = None, trust_pickle: bool = False):
    """Compare the chosen mitigations for a browser state, or fetch the finished comparison from the cache.

    Parameters
    ----------
    store, token, state
        The artifact store, the browser session's token and its state (``dataset``, ``model``, ``spec``).
    constraint : str
        One of ``auditapp.mitigation.compare.CONSTRAINTS``.
    candidates : sequence of str
        Candidate names (any order).
    n_jobs : int
        Candidates run side by side in up to this many processes (the engine caps it at 2).
    on_progress, should_stop : callable, optional
        Passed to :func:`~auditapp.mitigation.compare.compare_mitigations`; not called on a cache hit.
    trust_pickle : bool
        Whether pickled models may be loaded (the operator's setting).

    Returns
    -------
    Comparison
        Cached unless some candidates were cancelled.

    Raises
    ------
    AuditInputError
        For a missing dataset or settings, or anything the engine refuses.
    """
    from auditapp import workspace
    from auditapp.mitigation.compare import compare_mitigations

    key = comparison_key(store, token, state, constraint=constraint, candidates=candidates)
    spec = workspace.spec_from_state(state)

    def compute():
        dataset = workspace.dataset_for(store, token, state)
        model = workspace.load_model(store, token, state.get("model"), trust_pickle=trust_pickle)
        comparison = compare_mitigations(dataset.frame, spec, model, constraint=constraint, candidates=key[-1],
                                         n_jobs=n_jobs, on_progress=on_progress, should_stop=should_stop)
        if comparison.cancelled:
            raise _Incomplete(comparison)
        return comparison

    try:
        return store.cached(key, compute, token=token)
    except _Incomplete as incomplete:
        return incomplete.comparison


def cached_comparison(store, token: str, state: dict, *, constraint: str, candidates: Sequence[str]):
    """The finished comparison for these choices if one is cached, else None (never computes)."""
    try:
        return store.find(token, comparison_key(store, token, state, constraint=constraint, candidates=candidates))
    except AuditInputError:
        return None


@dataclass(frozen=True)
class CandidateOption:
    """One candidate as offered on the page: whether it applies to this model and constraint, and why not."""

    name: str
    title: str
    family: str
    disabled: bool
    reason: str


def candidate_options(model, *, constraint: str) -> tuple[tuple[CandidateOption, ...], tuple[str, ...]]:
    """Every candidate with whether it applies to ``model`` (None for prediction/score columns) and
    ``constraint``, and the default selection (:func:`~auditapp.mitigation.compare.default_candidates`)."""
    from auditapp.mitigation.compare import default_candidates
    from auditapp.mitigation.post import THRESHOLD_CONSTRAINTS

    can_refit = model is not None and model.refittable
    options = []
    for name in CANDIDATES:
        reason = ""
        if name == "baseline_refit" and not can_refit:
            reason = "the model cannot be refitted here (ONNX, or no model)"
        elif name == "threshold_optimizer" and constraint not in THRESHOLD_CONSTRAINTS:
            reason = "ThresholdOptimizer does not support error-rate parity"
        options.append(CandidateOption(name, TITLES[name], FAMILIES[name], bool(reason), reason))
    return tuple(options), default_candidates(can_refit=can_refit, constraint=constraint)


@dataclass(frozen=True)
class CandidateStatus:
    """Where one candidate is: queued, running, done, failed (``message`` is the error) or cancelled."""

    name: str
    title: str
    family: str
    status: str
    message: str = ""


class ProgressBoard:
    """Per-candidate status of a running comparison; pass it as ``on_progress``.

    ``publish(board)`` is called after every change (and by :meth:`publish_now`).
    """

    def __init__(self, names: Sequence[str], *, publish: Callable[[ProgressBoard], None] | None = None):
        self._statuses = {n: CandidateStatus(n, TITLES[n], FAMILIES[n], "queued") for n in names}
        self._publish = publish

    def __call__(self, name: str, status: str, result=None) -> None:
        message = result_line(result) if status in ("done", "failed") and result is not None else ""
        self._statuses[name] = replace(self._statuses[name], status=status, message=message)
        self.publish_now()

    def publish_now(self) -> None:
        """Report the current statuses to ``publish``."""
        if self._publish is not None:
            self._publish(self)

    @property
    def statuses(self) -> tuple[CandidateStatus, ...]:
        return tuple(self._statuses.values())

    @property
    def finished(self) -> int:
        return sum(s.status in ("done", "failed", "cancelled") for s in self._statuses.values())

    @property
    def percent(self) -> int:
        """Finished candidates as a whole percentage of all candidates."""
        return int(round(100 * self.finished / len(self._statuses))) if self._statuses else 100


def final_statuses(comparison) -> tuple[CandidateStatus, ...]:
    """The status of every candidate of a finished (or partly cancelled) comparison."""
    board = ProgressBoard([*(c.name for c in comparison.candidates), *comparison.cancelled])
    for result in comparison.candidates:
        board(result.name, "failed" if result.error else "done", result)
    for name in comparison.cancelled:
        board(name, "cancelled")
    return board.statuses


def _pct(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _num(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _with_ci(estimate, fmt) -> str:
    if estimate is None:
        return "n/a"
    return f"{fmt(estimate.value)} [{fmt(estimate.low)}, {fmt(estimate.high)}]"


def result_line(result) -> str:
    """One line for a finished candidate: accuracy, disparity and fit time."""
    if result.error:
        return result.error
    short = DISPARITY_SHORT.get(result.disparity_metric, result.disparity_metric)
    return (f"accuracy {_pct(result.accuracy.value)}, {short} {_num(result.disparity.value)}, "
            f"fitted in {result.fit_seconds:.1f} s")


def comparison_rows(comparison) -> list[dict]:
    """AG Grid rows: numbers as plain floats (for sorting) next to their display text with the interval."""
    rows = []
    for r in comparison.candidates:
        ok = r.error is None and r.accuracy is not None and r.disparity is not None
        rows.append({
            "name": r.name, "candidate": r.title, "family": FAMILY_LABELS[r.family],
            "accuracy": _plain(r.accuracy.value) if ok else None, "accuracy_text": _with_ci(r.accuracy, _pct),
            "balanced_accuracy": _plain(r.balanced_accuracy.value) if ok else None,
            "balanced_accuracy_text": _with_ci(r.balanced_accuracy, _pct),
            "disparity": _plain(r.disparity.value) if ok else None, "disparity_text": _with_ci(r.disparity, _num),
            "fit_seconds": round(float(r.fit_seconds), 2),
            "needs_sensitive": "yes" if r.needs_sensitive_at_predict else "no",
            "pareto": "yes" if r.name in comparison.pareto else "",
            "learner": r.learner or "", "draws": wording.draws_range(r), "warnings": wording.warnings_text(r),
            "notes": f"Failed: {r.error}" if r.error else " ".join(r.notes),
        })
    return rows


def _plain(value) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def _finished(comparison):
    return [c for c in comparison.candidates if c.error is None and c.accuracy is not None
            and c.disparity is not None and math.isfinite(c.accuracy.value) and math.isfinite(c.disparity.value)]


def recommended_candidate(comparison) -> str | None:
    """The fairest candidate on the Pareto front (lowest disparity; ties go to higher accuracy), or None."""
    front = [c for c in _finished(comparison) if c.name in comparison.pareto]
    if not front:
        return None
    return min(front, key=lambda c: (c.disparity.value, -c.accuracy.value)).name


def tradeoff_summary(comparison) -> list[str]:
    """Plain sentences under the trade-off chart: the baseline, the fairest Pareto candidate, the cost.

    Every number is read from the comparison; whether the disparity intervals overlap says whether the
    improvement could be noise on this many test rows.
    """
    finished = {c.name: c for c in _finished(comparison)}
    metric = DISPARITY_SHORT.get(comparison.disparity_metric, comparison.disparity_metric)
    rows = comparison.split.test_rows
    if not finished:
        return [f"No candidate finished on the {rows:,} test rows; the table shows why."]
    base = finished.get("baseline") or finished.get("baseline_refit")
    best = finished[recommended_candidate(comparison)]
    lines = []
    if base is not None:
        lines.append(f"{base.title}: accuracy {_pct(base.accuracy.value)}, {metric} {_num(base.disparity.value)} "
                     f"on {rows:,} held-out test rows.")
    refit = finished.get("baseline_refit")
    if base is not None and refit is not None and base.name != refit.name:
        lines.append(f"Refitted on the training rows only, the same learner reaches accuracy "
                     f"{_pct(refit.accuracy.value)}, {metric} {_num(refit.disparity.value)}: the fairer point of "
                     "comparison for the candidates that retrain.")
    front = sorted((c for c in finished.values() if c.name in comparison.pareto), key=lambda c: -c.accuracy.value)
    lines.append("On the Pareto front (no other candidate is both more accurate and fairer): " + "; ".join(
        f"{c.title} ({_pct(c.accuracy.value)}, {_num(c.disparity.value)})" for c in front) + ".")
    if base is None or best.name == base.name:
        lines.append(f"The fairest candidate on the Pareto front is {best.title}: accuracy "
                     f"{_pct(best.accuracy.value)}, {metric} {_num(best.disparity.value)}.")
        return lines
    points = 100 * (best.accuracy.value - base.accuracy.value)
    cost = f"{abs(points):.1f} points {'less' if points < 0 else 'more'} accuracy"
    lines.append(f"The fairest candidate on the Pareto front, {best.title}, brings the {metric} from "
                 f"{_num(base.disparity.value)} to {_num(best.disparity.value)} with {cost} "
                 f"({_pct(best.accuracy.value)}).")
    if best.disparity.high < base.disparity.low:
        lines.append("Their disparity intervals do not overlap, so the improvement is unlikely to be noise.")
    else:
        lines.append("Their disparity intervals overlap, so this many test rows cannot rule out that the "
                     "improvement is noise.")
    return lines


def learner_notes(comparison) -> list[str]:
    """Which candidates trained a default learner instead of the uploaded model, and why (engine notes)."""
    lines = []
    for result in comparison.candidates:
        if result.learner.startswith("default learner"):
            reason = next((n for n in result.notes if "cannot be refitted" in n or "instead" in n
                           or "trains a logistic regression" in n or "takes no sample weights" in n), "")
            lines.append(f"{result.title}: {reason or 'trained the default learner.'}")
    return lines


def candidate_summary(comparison, name: str) -> list[str]:
    """Sentences about one candidate: its numbers with intervals, learner, use of the sensitive attribute."""
    result = comparison.candidate(name)
    if result.error:
        return [f"{result.title} failed: {result.error}"]
    metric = DISPARITY_SHORT.get(result.disparity_metric, result.disparity_metric)
    lines = [
        f"{result.title} ({FAMILY_LABELS[result.family].lower()}, {result.learner}): accuracy "
        f"{_with_ci(result.accuracy, _pct)}, balanced accuracy {_with_ci(result.balanced_accuracy, _pct)}, "
        f"{metric} {_with_ci(result.disparity, _num)}.",
    ]
    lines.append(f"Needs the sensitive attribute for every decision. {result.sensitive_note}".strip()
                 if result.needs_sensitive_at_predict
                 else "Does not need the sensitive attribute to decide (only during training, if at all).")
    extra = [wording.draws_sentence(result), wording.warnings_sentence(result)]
    return [*lines, *(e for e in extra if e), *result.notes]


def context_line(dataset, model, spec, *, test_size: float = 0.3) -> str:
    """What the comparison will run on: rows, model and whether it can be refitted, split, seed."""
    if model is None:
        source = (f"no model: the baseline is the {'prediction' if spec.prediction else 'score'} column; "
                  "candidates that retrain use a default learner (logistic regression)")
    elif model.refittable:
        source = f"model {model.name} ({model.format}, can be refitted)"
    else:
        source = (f"model {model.name} ({model.format}, cannot be refitted here: candidates that retrain use a "
                  "default learner, ThresholdOptimizer uses its scores)")
    train = int(round(100 * (1 - test_size)))
    return (f"{dataset.name}: {dataset.rows:,} rows · {source} · sensitive: {', '.join(spec.sensitive)} · "
            f"split {train}% training / {100 - train}% test, stratified by group and label, seed {spec.seed}.")


def model_file(comparison, name: str) -> tuple[bytes, str]:
    """The candidate's model as skops bytes and its file name (via :func:`export_candidate`).

    Raises
    ------
    AuditInputError
        If the candidate failed or has no scikit-learn model to save.
    """
    from auditapp.mitigation.export import export_candidate

    with tempfile.TemporaryDirectory(prefix="auditapp-export-") as folder:
        files = export_candidate(comparison, name, folder)
        return Path(files.model_path).read_bytes(), Path(files.model_path).name


def predictions_csv(comparison, name: str) -> tuple[bytes, str]:
    """The candidate's test predictions as CSV bytes (text neutralised against formulas) and a file name.

    Raises
    ------
    AuditInputError
        If the candidate failed.
    """
    from auditapp.mitigation.export import neutralised, predictions_table

    table = neutralised(predictions_table(comparison, name))
    return table.to_csv(index=False).encode("utf-8"), f"{name}_test_predictions.csv"
