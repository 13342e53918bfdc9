"""Run mitigation candidates one after another, or side by side in at most two slots (see :mod:`.schedule`).

Side by side, the candidates of a sandboxed model file are sent to model processes from two threads;
any other candidates run in worker processes (one native thread each). The uploaded model as it is,
which trains nothing, is evaluated here first, while the worker processes' fork server imports the
learners, so its result shows at once.

Progress is reported through ``on_progress(name, status, result)`` with status ``"running"``,
``"done"``, ``"failed"`` (the result carries the error) or ``"cancelled"`` (result None).
``should_stop()`` is polled between candidates (sequential) or every 0.2 s (parallel); in parallel
mode a stop terminates the running workers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from auditapp.core.limits import runtime
from auditapp.mitigation.candidates import (
    FAMILIES,
    TITLES,
    CandidateResult,
    MitigationContext,
    needs_model_process,
    run_candidate,
)
from auditapp.mitigation.schedule import FIRST, planned_order, run_threaded

log = logging.getLogger(__name__)

MAX_WORKERS = 2
POLL_SECONDS = 0.2
PRELOAD = ("auditapp.mitigation.candidates", "auditapp.mitigation.inprocessing", "auditapp.mitigation.post",
           "auditapp.mitigation.pre", "fairlearn.reductions", "fairlearn.postprocessing",
           "fairlearn.preprocessing")

ProgressCallback = Callable[[str, str, CandidateResult | None], None]


def _status(result: CandidateResult) -> str:
    return "failed" if result.error else "done"


def run_candidates(ctx: MitigationContext, names: Sequence[str], *, n_jobs: int = 1,
                   on_progress: ProgressCallback | None = None,
                   should_stop: Callable[[], bool] | None = None) -> tuple[dict[str, CandidateResult], tuple[str, ...]]:
    """Run ``names`` on ``ctx``; return the finished results by name and the names cancelled.

    ``n_jobs`` above 1 runs candidates side by side in at most ``MAX_WORKERS`` slots, each capped at one
    native thread, in the order of :func:`~auditapp.mitigation.schedule.planned_order`.
    """
    report = on_progress or (lambda name, status, result: None)
    stop = should_stop or (lambda: False)
    workers = min(int(n_jobs), MAX_WORKERS)
    if workers <= 1 or len(names) <= 1:
        result3: tuple[dict[str, CandidateResult], tuple[str, ...]] = _sequential(ctx, names, report, stop)
        return result3
    from auditapp.inputs.sandboxed_model import SandboxedModel

    if isinstance(ctx.estimator, SandboxedModel):
        result2: tuple[dict[str, CandidateResult], tuple[str, ...]] = run_threaded(
            ctx, names, workers, report, stop, run_candidate, POLL_SECONDS,
            needs_slot=lambda name: needs_model_process(ctx, name))
        return result2
    result: tuple[dict[str, CandidateResult], tuple[str, ...]] = _parallel(ctx, names, workers, report, stop)
    return result


def _sequential(ctx: Any, names: Any, report: Any, stop: Any) -> Any:
    results, cancelled = {}, []
    for name in names:
        if stop():
            cancelled.append(name)
            report(name, "cancelled", None)
            continue
        report(name, "running", None)
        result = run_candidate(ctx, name)
        results[name] = result
        report(name, _status(result), result)
    return results, tuple(cancelled)


def _work(sender: Any, ctx: MitigationContext, name: str, limits: Any) -> None:
    """Worker process body: one candidate (under its parent's limits), result sent back through the pipe."""
    from auditapp.core.limits import configure
    from auditapp.core.runtime import limit_threads

    configure(limits)
    limit_threads(1)
    sender.send(run_candidate(ctx, name))
    sender.close()


def _crashed(ctx: MitigationContext, name: str, exitcode: Any) -> CandidateResult:
    from auditapp.mitigation.candidates import DISPARITY

    return CandidateResult(
        name=name, family=FAMILIES[name], title=TITLES[name], learner="", accuracy=None, balanced_accuracy=None,
        disparity_metric=DISPARITY[ctx.constraint], disparity=None, criteria={}, audit=None,
        needs_sensitive_at_predict=FAMILIES[name] == "post", sensitive_note="", fit_seconds=0.0, notes=(),
        error=f"The worker process running {name} stopped without a result (exit code {exitcode}); "
              "it may have run out of memory.",
        test_rows_sha256=ctx.test_rows_sha256,
    )


def _parallel(ctx: Any, names: Any, workers: Any, report: Any, stop: Any) -> Any:
    import multiprocessing as mp
    from multiprocessing.connection import wait

    context = mp.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    pending = [n for n in planned_order(names) if n != FIRST]
    running: dict[Any, Any] = {}
    results, cancelled = {}, []
    if pending:
        # The fork server starts now and imports the learners while the baseline is evaluated here, so the
        # first result shows without waiting for those imports.
        from multiprocessing import forkserver

        forkserver.ensure_running()
    if FIRST in names and stop():
        cancelled.append(FIRST)
        report(FIRST, "cancelled", None)
    elif FIRST in names:  # trains nothing: evaluated in this process first
        report(FIRST, "running", None)
        results[FIRST] = run_candidate(ctx, FIRST)
        report(FIRST, _status(results[FIRST]), results[FIRST])
    try:
        while pending or running:
            if stop():
                for conn, (name, process) in running.items():
                    process.terminate()
                    process.join()
                    conn.close()
                    cancelled.append(name)
                    report(name, "cancelled", None)
                running.clear()
                for name in pending:
                    cancelled.append(name)
                    report(name, "cancelled", None)
                pending = []
                break
            while pending and len(running) < workers:
                name = pending.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_work, args=(sender, ctx, name, runtime()), daemon=True)
                process.start()
                sender.close()
                running[receiver] = (name, process)
                report(name, "running", None)
            ready = wait(list(running), timeout=POLL_SECONDS)
            for conn in [c for c in list(running) if c in ready]:
                name, process = running.pop(conn)
                try:
                    result = conn.recv()
                except EOFError:
                    process.join()
                    result = _crashed(ctx, name, process.exitcode)
                conn.close()
                process.join()
                results[name] = result
                report(name, _status(result), result)
    finally:
        for conn, (_name, process) in running.items():
            process.terminate()
            process.join()
            conn.close()
    return results, tuple(n for n in names if n in cancelled)
