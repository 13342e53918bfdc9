"""Background jobs: Dash's background-callback managers, supervised.

Embedded default: ``DiskcacheManager`` (one subprocess per job, results in diskcache under the data
directory). With ``AUDITAPP_REDIS_URL``: ``CeleryManager`` on a Celery app whose broker and result
backend are that Redis; jobs run on ``celery -A celery_app worker`` processes on any machine.

Whichever manager runs it, every job

- pins the dataset and model it reads (``ArtifactStore.lease``), so expiry never removes them mid-job;
- stops with :class:`JobTimeLimitError` after ``AUDITAPP_JOB_TIME_LIMIT`` seconds;
- is reported failed, with :data:`JOB_LOST`, when the process running it dies (killed, out of memory)
  instead of leaving the page waiting forever; and with :data:`JOB_NOT_STARTED` when no worker takes
  it within ``AUDITAPP_JOB_QUEUE_WAIT`` seconds.
- waits for one of the server's job slots (:func:`job_slot`: at most ``AUDITAPP_MAX_JOBS`` run at
  once, ``AUDITAPP_MAX_JOBS_PER_SESSION`` per session; the others wait in line and are told their place);
- is stopped when its page stops asking for it for ``AUDITAPP_JOB_ABANDON_AFTER`` seconds (the tab
  was closed): :func:`watch_polls`.

Dash is imported only inside the functions that build managers (the engine never needs it).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.core.limits import DEFAULTS
from auditapp.service.config import Settings
from auditapp.service.slots import JOBS, FairQueue, Place

log = logging.getLogger("auditapp.service.jobs")

JOB_LOST = ("The background job stopped before it finished: the process running it ended (it was stopped, "
            "restarted or ran out of memory). Nothing was saved. Run it again; if it keeps failing, try a "
            "smaller sample.")
JOB_NOT_STARTED = ("The background job did not start: no worker was free to take it. Try again in a minute; "
                   "if it keeps happening, ask the operator to start more workers (celery -A celery_app worker).")
_TIME_LIMIT = re.compile(r"The job ran longer than this server's limit of [\d,]+ seconds[^\n]*")
_QUEUE = re.compile(r"(The server is busy: [^\n]*? Try again in a few minutes\.|Your background job (waited|lost|was "
                    r"cancelled)[^\n]*)")
HEARTBEAT = 5


class JobTimeLimitError(LimitExceededError):
    """A background job ran longer than ``AUDITAPP_JOB_TIME_LIMIT`` allows."""


def failure_message(exc: BaseException) -> str | None:
    """The user-facing message of a job that failed for a reason the user can act on, else None."""
    text = str(exc)
    for message in (JOB_LOST, JOB_NOT_STARTED):
        if message in text:
            return message
    for pattern in (_TIME_LIMIT, _QUEUE):
        found = pattern.search(text)
        if found:
            return found.group(0)
    return None


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`JobTimeLimitError` in this (main) thread after ``seconds``; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(_signum, _frame):
        raise JobTimeLimitError(
            f"The job ran longer than this server's limit of {seconds:,} seconds and was stopped. "
            "Use a smaller sample or fewer options, or ask the operator to raise AUDITAPP_JOB_TIME_LIMIT.")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@functools.lru_cache(maxsize=4)
def _store(settings: Settings):
    return settings.open_store()


def artifacts_in(values: list[Any], settings: Settings) -> tuple[str | None, list[str]]:
    """A session token and the dataset/model ids found among a callback's input and state values."""
    store, token, ids = _store(settings), None, []
    for value in values:
        if isinstance(value, str) and token is None:
            with contextlib.suppress(AuditInputError):
                store.session_id(value)
                token = value
        elif isinstance(value, dict):
            ids += [value[k] for k in ("dataset", "model") if isinstance(value.get(k), str)]
    return token, ids


@contextlib.contextmanager
def heartbeat(beat: Callable[[], None] | None) -> Iterator[None]:
    """Call ``beat()`` now and every few seconds while the ``with`` block runs (nothing when None)."""
    if beat is None:
        yield
        return
    stop = threading.Event()

    def run() -> None:
        while True:
            beat()
            if stop.wait(HEARTBEAT):
                return

    thread = threading.Thread(target=run, daemon=True, name="auditapp-job-heartbeat")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def job_guard(token: str | None, artifact_ids: list[str], *, settings: Settings,
              beat: Callable[[], None] | None = None, seconds: int | None = None) -> Iterator[None]:
    """Run a job's body: artifacts pinned, heartbeat sent, time limit (default ``settings.job_time_limit``) enforced."""
    with heartbeat(beat), contextlib.ExitStack() as stack:
        if token and artifact_ids:
            with contextlib.suppress(AuditInputError):  # expired or unknown: the job itself says so
                stack.enter_context(_store(settings).lease(token, artifact_ids, seconds=60))
        stack.enter_context(time_limit(seconds if seconds is not None else settings.job_time_limit))
        yield


def _kill_this_process() -> None:
    log.warning("Stopping background job %d: its page has not asked for it for a while (closed?).", os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def watch_polls(polled: Callable[[], bool] | None, *, seconds: int | None = None,
                on_abandon: Callable[[], None] = _kill_this_process) -> Iterator[None]:
    """Stop the job if its page stops asking for it (``polled()`` False) for ``seconds``.

    A page asks for its job's result every fraction of a second; a closed tab asks no more. After
    ``seconds`` (the app passes ``Settings.job_abandon_after``; default 120 s: a browser may slow the timers of a
    hidden tab to one a minute), ``polled()`` is checked every ``seconds / 4``; once it says the page
    has not asked for ``seconds``, ``on_abandon()`` runs (by default the job's process is killed: a
    long NumPy call cannot be interrupted any other way, and its slot and leases end with it).
    """
    if polled is None:
        yield
        return
    limit = seconds if seconds is not None else DEFAULTS["AUDITAPP_JOB_ABANDON_AFTER"]
    stop = threading.Event()

    def run() -> None:
        if stop.wait(limit):
            return
        while not stop.wait(limit / 4):
            if not polled():
                on_abandon()
                return

    thread = threading.Thread(target=run, daemon=True, name="auditapp-job-watch")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def job_slot(token: str | None, *, settings: Settings,
             on_wait: Callable[[Place], None] | None = None) -> Iterator[FairQueue]:
    """Hold one of the server's background-job slots while the ``with`` block runs (waiting for it first)."""
    queue = FairQueue.for_server(JOBS, settings.data_dir, settings.redis_url, caps=settings.job_caps, poll=0.25)
    session = "anonymous"
    if token:
        with contextlib.suppress(AuditInputError):
            session = _store(settings).session_id(token)
    with queue.slot(session, on_wait=on_wait):
        yield queue


@functools.cache
def celery_app(settings: Settings):
    """The Celery app of this process for ``settings.redis_url`` (broker and result backend), with auditapp's tasks."""
    from celery import Celery

    redis_url = settings.redis_url
    if not redis_url:
        raise ValueError("celery_app needs settings with a redis_url (AUDITAPP_REDIS_URL).")
    app = Celery("auditapp", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_track_started=True, worker_prefetch_multiplier=1, result_expires=24 * 3600,
        task_time_limit=settings.job_time_limit + 60, broker_connection_retry_on_startup=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        worker_hijack_root_logger=False,
    )

    @app.task(name="auditapp.core.audit")
    def audit_task(token: str, state: dict) -> dict:
        """Run (and cache in the shared store) the audit a browser state describes; return its headline."""
        with job_guard(token, [a for a in (state.get("dataset"), state.get("model")) if a], settings=settings):
            return audit_summary(token, state, settings)

    return app


def audit_summary(token: str, state: dict, settings: Settings) -> dict:
    """The audit for ``state`` (computed once and cached in the store ``settings`` name) as plain JSON numbers."""
    from auditapp.service import workspace

    audit = workspace.audit_for(_store(settings), token, state, trust_pickle=settings.trust_pickle)
    rates = audit.result.groupings[0].groups["selection_rate"]
    return {"rows": int(audit.result.n_rows), "groupings": [g.name for g in audit.result.groupings],
            "selection_rate": {str(k): float(v) for k, v in rates.items()}}
