"""The comparison planned as one job: which candidate starts when, and where it runs.

Two slots run side by side (one native thread each). The cheapest candidate, the uploaded model as it
is, starts first so that a result shows at once; the two long reductions (ExponentiatedGradient,
GridSearch) start next, one per slot, and the short candidates fill the gaps as slots free up (longest
first), so the comparison ends about when the longer reduction does. When the baseline has nothing to
train (a skops file), it runs beside the slots and starts just after the two reductions were sent.

A model file runs in its sandbox (:mod:`auditapp.inputs.sandbox`): its candidates are trained by model
processes, so here they are sent from two threads of this process, each call taking a model process
of its own from the pool (the one that already holds the model, and a second one started at once). No
worker process of ours is started and the model is never loaded into this process.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# Rough relative cost, from a model process's training times on Adult (ExponentiatedGradient ~0.95 s and
# GridSearch ~0.87 s refit their learner 20 times or more; CorrelationRemover ~0.25 s, ThresholdOptimizer
# ~0.12 s, a refit or reweighing ~0.1 s on the shared encoding).
COST = {"exponentiated_gradient": 10, "grid_search": 9, "correlation_remover": 3, "threshold_optimizer": 1.5,
        "reweighing": 1, "baseline_refit": 1, "baseline": 1}
FIRST = "baseline"
# While candidates run, the interpreter lock changes hands every 0.5 ms rather than Python's 5 ms: a thread
# that sends the next candidate to a freed model process otherwise waits ~50 ms for it behind the thread
# computing the previous candidate's intervals (measured on Adult: 50 ms -> 5-15 ms per hand-over).
SWITCH_SECONDS = 0.0005
_SWITCH = threading.Lock()
_switch_state: dict[str, Any] = {"users": 0, "saved": None}


@contextmanager
def prompt_handoffs() -> Iterator[None]:
    """Shorten the interpreter's switch interval for the block (nested and concurrent blocks share it; the
    last one out restores the interval found by the first one in)."""
    with _SWITCH:
        if _switch_state["users"] == 0:
            _switch_state["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_SECONDS, _switch_state["saved"]))
        _switch_state["users"] += 1
    try:
        yield
    finally:
        with _SWITCH:
            _switch_state["users"] -= 1
            if _switch_state["users"] == 0:
                sys.setswitchinterval(_switch_state["saved"])


def planned_order(names: Sequence[str]) -> list[str]:
    """The order candidates start in: the baseline first, then the most expensive first."""
    rest = sorted((n for n in names if n != FIRST), key=lambda n: -COST.get(n, 1))
    return ([FIRST] if FIRST in names else []) + rest


def run_threaded(ctx: Any, names: Sequence[str], workers: int, report: Callable[..., Any], stop: Callable[[], bool],
                 run: Callable[..., Any], poll_seconds: float = 0.2,
                 needs_slot: Callable[[str], bool] = lambda name: True) -> Any:
    """Run candidates of a sandboxed model from ``workers`` threads; return (results, cancelled names).

    ``run(ctx, name, trained=...)`` trains and evaluates one candidate (the training happens in a model
    process) and calls ``trained()`` when the training has ended: the slot then goes to the next candidate
    while this one's intervals are computed here. A candidate for which ``needs_slot(name)`` is False (the
    baseline of a skops file: nothing to train) runs beside the slots. On a stop the candidates not started
    are cancelled and the running ones are abandoned: they are reported cancelled at once, and their model
    processes finish the call within the sandbox's time limit.
    """
    with prompt_handoffs():
        return _run_threaded(ctx, names, workers, report, stop, run, poll_seconds, needs_slot)


def _run_threaded(ctx: Any, names: Sequence[str], workers: int, report: Callable[..., Any], stop: Callable[[], bool],
                  run: Callable[..., Any], poll_seconds: float, needs_slot: Callable[[str], bool]) -> Any:
    pending = planned_order(names)
    lock = threading.Condition()
    finished: list[Any] = []
    started: list[str] = []  # started since the loop last reported them
    running: set[str] = set()
    training: set[str] = set()  # running candidates holding a slot
    stopping = threading.Event()
    results, cancelled = {}, []

    def launch() -> None:
        """Start what the free slots allow (the lock is held): first the candidates that take a free slot,
        then those that need none (the baseline of a skops file, whose intervals this process computes
        while the first two requests are still being written to the model processes: ~30-50 ms later on
        Adult for both reductions when it went first)."""
        while not stopping.is_set():
            free = len(training) < workers
            name = next((n for n in pending if needs_slot(n) and free), None) or \
                next((n for n in pending if not needs_slot(n)), None)
            if name is None:
                return
            pending.remove(name)
            running.add(name)
            if needs_slot(name):
                training.add(name)
            started.append(name)
            threading.Thread(target=body, args=(name,), daemon=True, name=f"mitigation-{name}").start()

    def trained(name: str) -> None:
        # the next candidate starts from here, at once: the model process does not wait for this thread's
        # evaluation nor for the loop below to wake up
        with lock:
            training.discard(name)
            launch()
            lock.notify_all()

    def body(name: Any) -> Any:
        try:
            result = run(ctx, name, trained=lambda: trained(name))
        except BaseException as exc:  # noqa: BLE001 - run() turns failures into results; this is a last guard
            result = exc
        with lock:
            training.discard(name)
            finished.append((name, result))
            launch()
            lock.notify_all()

    while True:
        if stop():
            stopping.set()
            with lock:
                new, started[:] = list(started), []
                left, pending[:] = list(pending), []
            for name in new:
                report(name, "running", None)
                abandoned = sorted(running, key=names.index)
            for name in [*abandoned, *left]:
                cancelled.append(name)
                report(name, "cancelled", None)
            break
        with lock:
            launch()
            if not finished and not started and running:
                lock.wait(timeout=poll_seconds)
            new, started[:] = list(started), []
            done, finished[:] = list(finished), []
            running.difference_update(name for name, _ in done)
        for name in new:
            report(name, "running", None)
        for name, result in done:
            if isinstance(result, BaseException):
                raise result
            results[name] = result
            report(name, "failed" if result.error else "done", result)
        with lock:
            if not pending and not running and not started and not finished:
                break
    return results, tuple(n for n in names if n in cancelled)
