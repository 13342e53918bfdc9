"""Audits computed in low-priority helper processes, so interactive requests keep the CPU.

A web worker that needs an audit nobody has computed yet hands it to one of its helper processes,
started with ``nice`` 10: while a burst of users upload and audit large files, the quick requests
(group metrics, threshold moves) of everyone else are scheduled first. The helper writes the audit to
the shared result cache; the web worker then reads it from there.

A web worker keeps one helper ready (started at boot) and starts another only while that one is busy
(how many audits run at once is decided by the fair queue, ``auditapp.service.slots``). An audit whose request
is abandoned, cancelled or over its time limit is stopped at once: its helper is killed (a long NumPy
call cannot be interrupted any other way) and a fresh one takes its place.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.service.config import Settings

log = logging.getLogger("auditapp.service.audit_helper")
NICENESS = 10
_CHECK_EVERY = 0.1


class AuditStoppedError(AuditInputError):
    """The helper computing an audit ended before it finished (killed from outside, out of memory)."""


def _start_helper(parent: int) -> None:
    os.nice(NICENESS)
    from auditapp.core.runtime import limit_threads

    limit_threads()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="exit-with-parent").start()


def _exit_with(parent: int) -> None:
    """End this helper when the web process that started it is gone (a killed server leaves no orphans)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)


def _compute(token: str, state: dict[str, Any], settings: Settings) -> None:
    """Run in the helper: the audit, with the web process's settings as given (never its environment)."""
    from auditapp.service import workspace

    settings.install()  # a spawned process: the web process's limits, as given
    workspace.audit_for(settings.open_store(), token, state, trust_pickle=settings.trust_pickle)


def _ready() -> int:
    """Run in the helper: import what an audit needs, so the first audit starts at once."""
    import auditapp.core.audit  # noqa: F401
    import auditapp.service.workspace  # noqa: F401

    return os.getpid()


class Helper:
    """One helper process (a single-process pool, so it can be killed without touching the others)."""

    def __init__(self) -> None:
        # "spawn", not the process-wide fork server: the mitigation runner uses that one, and a background
        # job forked from this process must not inherit a fork server it cannot talk to.
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_helper,
                                        initargs=(os.getpid(),))
        self.started: Future = self.pool.submit(_ready)

    def pid(self, timeout: float = 120) -> int:
        return self.started.result(timeout=timeout)

    def kill(self) -> None:
        """Stop the helper now, whatever it is doing."""
        try:
            os.kill(self.pid(timeout=30), signal.SIGKILL)
        except (ProcessLookupError, BrokenProcessPool, concurrent.futures.TimeoutError):
            pass
        self.pool.shutdown(wait=False, cancel_futures=True)


class HelperPool:
    """The helpers of one web process: idle ones wait for work; a killed or broken one is replaced."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self._idle: list[Helper] = []
        self._busy: list[Helper] = []
        self._lock = threading.Lock()

    def take(self) -> Helper:
        with self._lock:
            helper = self._idle.pop() if self._idle else Helper()
            self._busy.append(helper)
            return helper

    def give_back(self, helper: Helper, *, usable: bool = True) -> None:
        """Return a helper after an audit; one that is not usable (killed, broken) is shut down for good."""
        with self._lock:
            self._busy.remove(helper)
            if usable:
                self._idle.append(helper)
        if not usable:
            helper.kill()

    def busy(self) -> list[int]:
        """Process ids of the helpers computing an audit now."""
        with self._lock:
            helpers = list(self._busy)
        return [h.pid() for h in helpers]

    def warm(self) -> Helper:
        """Make sure one helper is ready (started now if none is idle)."""
        with self._lock:
            if not self._idle:
                self._idle.append(Helper())
            return self._idle[-1]


@lru_cache(maxsize=1)
def _pool() -> HelperPool:
    return HelperPool()


def audit_in_helper(token: str, state: dict[str, Any], *, settings: Settings, timeout: float | None = None,
                    stop: Callable[[], str | None] | None = None) -> bool:
    """Compute (and cache) the audit for ``state`` in a helper; False if no helper can be used here.

    The helper opens the store ``settings`` name and trusts pickles as they say; ``timeout`` defaults
    to ``settings.job_time_limit``.

    ``stop()`` is asked every 0.1 s; when it returns a message, the helper is killed and
    :class:`~auditapp.service.slots.WorkCancelledError` with that message is raised. After ``timeout``
    seconds the helper is killed too (:class:`~auditapp.service.jobs.JobTimeLimitError`). A user's mistake
    raised there (``AuditInputError``) is raised here unchanged.
    """
    if multiprocessing.current_process().daemon:
        # A Celery or background-job worker: daemonic processes may not start children, and they are
        # already off the web process, so they compute themselves.
        return False
    pool = _pool()
    if pool.owner != os.getpid():
        # A forked background job inherited the web process's helpers, whose threads it does not have:
        # it is already off the web process, so it computes itself.
        return False
    timeout = settings.job_time_limit if timeout is None else timeout
    helper, usable = pool.take(), False
    deadline = time.monotonic() + timeout
    try:
        future = helper.pool.submit(_compute, token, state, settings)
        while not concurrent.futures.wait([future], timeout=_CHECK_EVERY).done:
            reason = stop() if stop is not None else None
            if reason is not None:
                from auditapp.service.slots import WorkCancelledError

                helper.kill()
                pool.warm()  # the next audit of this process should not wait for a helper to start
                raise WorkCancelledError(reason)
            if time.monotonic() > deadline:
                from auditapp.service.jobs import JobTimeLimitError

                helper.kill()
                pool.warm()
                raise JobTimeLimitError(
                    f"The audit ran longer than this server's limit of {timeout:,.0f} seconds and was stopped. "
                    "Choose fewer sensitive features or coarser bins, or audit fewer rows, or ask the operator to raise "
                    "AUDITAPP_JOB_TIME_LIMIT.")
        if isinstance(future.exception(), BrokenProcessPool):
            raise AuditStoppedError(
                "The process computing the audit ended before it finished (it was stopped or ran out of "
                "memory). Nothing was saved. Try fewer sensitive features, coarser bins or fewer rows.") \
                from future.exception()
        usable = True  # it finished, or raised (a user's mistake, or a bug) and can take the next audit
        future.result()
    finally:
        pool.give_back(helper, usable=usable)
    return True


def busy_helpers() -> list[int]:
    """Process ids of this process's helpers that are computing an audit now."""
    return _pool().busy()


def start_helper(settings: Settings) -> Future | None:
    """Start this process's first helper ahead of the first audit (gunicorn's post_fork hook calls this).

    Returns the future of its start-up (its result is the helper's process id), or None when the
    operator turned the helper off (``settings.audit_helper`` False, ``AUDITAPP_AUDIT_HELPER=0``).
    """
    if not settings.audit_helper:
        return None
    return _pool().warm().started
