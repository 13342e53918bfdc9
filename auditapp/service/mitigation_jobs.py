"""Run a mitigation comparison for an app user's state, cache it, and describe it for the page.

:func:`run_comparison` caches a comparison in the artifact store by ``(dataset sha256, model sha256, spec,
constraint, candidates, grouping)`` so every web worker can read it; :class:`ProgressBoard` tracks each candidate while
it runs; the rest turns a comparison into table rows and sentences whose every number comes from the engine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from auditapp.core.errors import AuditInputError
from auditapp.mitigation.candidates import CANDIDATES, FAMILIES, TITLES
from auditapp.mitigation.costs import recommended_candidate
from auditapp.mitigation.describe import (
    DISPARITY_SHORT,
    FAMILY_LABELS,
    candidate_summary,
    comparison_rows,
    context_line,
    group_rows,
    grouping_sentence,
    learner_notes,
    result_line,
    tradeoff_summary,
)
from auditapp.mitigation.grouping import resolve_grouping

__all__ = ["CONSTRAINT_TEXT", "DISPARITY_SHORT", "FAMILY_LABELS", "candidate_summary", "comparison_rows",
           "context_line", "group_rows", "grouping_sentence", "learner_notes", "recommended_candidate", "result_line",
           "tradeoff_summary"]

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


def chosen_grouping(state: dict, grouping: Sequence[str] | str | None) -> tuple[str, ...]:
    """The grouping the user chose (default: the audit's first sensitive feature alone), checked."""
    sensitive = ((state or {}).get("spec") or {}).get("sensitive") or ()
    return resolve_grouping(sensitive, grouping or None)


def comparison_key(store, token: str, state: dict, *, constraint: str, candidates: Sequence[str],
                   grouping: Sequence[str] | str | None = None) -> tuple:
    """The cache key of a comparison: the state's content key plus the constraint, candidates and grouping."""
    from auditapp.service.workspace import state_key

    if not state or not state.get("dataset"):
        raise AuditInputError("No dataset yet: upload one on the Data & model page or pick a scenario.")
    return ("mitigation", *state_key(store, token, state), str(constraint), chosen_candidates(candidates),
            chosen_grouping(state, grouping))


class _Incomplete(Exception):
    """A cancelled comparison: returned to the caller, never cached."""

    def __init__(self, comparison):
        super().__init__("cancelled")
        self.comparison = comparison


def run_comparison(store, token: str, state: dict, *, constraint: str, candidates: Sequence[str],
                   grouping: Sequence[str] | str | None = None, n_jobs: int = 1,
                   on_progress: Callable | None = None, should_stop: Callable[[], bool] | None = None,
                   trust_pickle: bool = False):
    """Compare the chosen mitigations for a browser state, or fetch the finished comparison from the cache.

    Parameters
    ----------
    store, token, state
        The artifact store, the browser session's token and its state (``dataset``, ``model``, ``spec``).
    constraint : str
        One of ``auditapp.mitigation.compare.CONSTRAINTS``.
    candidates : sequence of str
        Candidate names (any order).
    grouping : sequence of str, optional
        The sensitive features whose groups are equalised; default the first sensitive feature alone.
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
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.service import workspace

    key = comparison_key(store, token, state, constraint=constraint, candidates=candidates, grouping=grouping)
    spec = workspace.spec_from_state(state)

    def compute():
        dataset = workspace.dataset_for(store, token, state)
        model = workspace.load_model(store, token, state.get("model"), trust_pickle=trust_pickle)
        comparison = compare_mitigations(dataset.frame, spec, model, constraint=constraint, candidates=key[-2],
                                         grouping=key[-1], n_jobs=n_jobs, on_progress=on_progress,
                                         should_stop=should_stop)
        if comparison.cancelled:
            raise _Incomplete(comparison)
        return comparison

    try:
        return store.cached(key, compute, token=token)
    except _Incomplete as incomplete:
        return incomplete.comparison


def cached_comparison(store, token: str, state: dict, *, constraint: str, candidates: Sequence[str],
                      grouping: Sequence[str] | str | None = None):
    """The finished comparison for these choices if one is cached, else None (never computes)."""
    try:
        key = comparison_key(store, token, state, constraint=constraint, candidates=candidates, grouping=grouping)
        return store.find(token, key)
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
    from auditapp.mitigation.constraints import THRESHOLD_CONSTRAINTS

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
