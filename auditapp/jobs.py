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

Dash is imported only inside the functions that build managers (the engine never needs it).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from auditapp.config import Settings
from auditapp.errors import AuditInputError, LimitExceededError
from auditapp.limits import job_time_limit

log = logging.getLogger("auditapp.jobs")

JOB_LOST = ("The background job stopped before it finished: the process running it ended (it was stopped, "
            "restarted or ran out of memory). Nothing was saved. Run it again; if it keeps failing, try a "
            "smaller sample.")
JOB_NOT_STARTED = ("The background job did not start: no worker was free to take it. Try again in a minute; "
                   "if it keeps happening, ask the operator to start more workers (celery -A celery_app worker).")
_TIME_LIMIT = re.compile(r"The job ran longer than this server's limit of [\d,]+ seconds[^\n]*")
_HEARTBEAT = 5


class JobTimeLimitError(LimitExceededError):
    """A background job ran longer than ``AUDITAPP_JOB_TIME_LIMIT`` allows."""


def failure_message(exc: BaseException) -> str | None:
    """The user-facing message of a job that failed for a reason the user can act on, else None."""
    text = str(exc)
    for message in (JOB_LOST, JOB_NOT_STARTED):
        if message in text:
            return message
    found = _TIME_LIMIT.search(text)
    return found.group(0) if found else None


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


@functools.lru_cache(maxsize=1)
def _store():
    from auditapp.store import default_store

    return default_store()


def _artifacts_in(values: list[Any]) -> tuple[str | None, list[str]]:
    """A session token and the dataset/model ids found among a callback's input and state values."""
    store, token, ids = _store(), None, []
    for value in values:
        if isinstance(value, str) and token is None:
            with contextlib.suppress(AuditInputError):
                store.session_id(value)
                token = value
        elif isinstance(value, dict):
            ids += [value[k] for k in ("dataset", "model") if isinstance(value.get(k), str)]
    return token, ids


@contextlib.contextmanager
def job_guard(token: str | None, artifact_ids: list[str], *, beat: Callable[[], None] | None = None,
              seconds: int | None = None) -> Iterator[None]:
    """Run a job's body: artifacts pinned, heartbeat sent, time limit enforced."""
    stop = threading.Event()

    def heartbeat() -> None:
        while True:
            beat()
            if stop.wait(_HEARTBEAT):
                return

    thread = threading.Thread(target=heartbeat, daemon=True) if beat else None
    if thread:
        thread.start()
    try:
        with contextlib.ExitStack() as stack:
            if token and artifact_ids:
                with contextlib.suppress(AuditInputError):  # expired or unknown: the job itself says so
                    stack.enter_context(_store().lease(token, artifact_ids, seconds=60))
            stack.enter_context(time_limit(seconds if seconds is not None else job_time_limit()))
            yield
    finally:
        stop.set()
        if thread:
            thread.join()


@functools.cache
def celery_app(redis_url: str):
    """The Celery app of this process for ``redis_url`` (broker and result backend), with auditapp's tasks."""
    from celery import Celery

    app = Celery("auditapp", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_track_started=True, worker_prefetch_multiplier=1, result_expires=24 * 3600,
        task_time_limit=job_time_limit() + 60, broker_connection_retry_on_startup=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        worker_hijack_root_logger=False,
    )

    @app.task(name="auditapp.audit")
    def audit_task(token: str, state: dict) -> dict:
        """Run (and cache in the shared store) the audit a browser state describes; return its headline."""
        with job_guard(token, [a for a in (state.get("dataset"), state.get("model")) if a]):
            return audit_summary(token, state)

    return app


def audit_summary(token: str, state: dict) -> dict:
    """The audit for ``state`` (computed once and cached in the store) reduced to plain JSON numbers."""
    from auditapp import workspace

    audit = workspace.audit_for(_store(), token, state, trust_pickle=Settings.from_env().trust_pickle)
    rates = audit.result.groupings[0].groups["selection_rate"]
    return {"rows": int(audit.result.n_rows), "groupings": [g.name for g in audit.result.groupings],
            "selection_rate": {str(k): float(v) for k, v in rates.items()}}
