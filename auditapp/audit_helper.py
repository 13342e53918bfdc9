"""Audits computed in a low-priority helper process, so interactive requests keep the CPU.

A web worker that needs an audit nobody has computed yet hands it to its own helper process, started
with ``nice`` 10: while a burst of users upload and audit large files, the quick requests (group
metrics, threshold moves) of everyone else are scheduled first. The helper writes the audit to the
shared result cache; the web worker then reads it from there.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from typing import Any

log = logging.getLogger("auditapp.audit_helper")
NICENESS = 10


def _start_helper(parent: int) -> None:
    os.nice(NICENESS)
    from auditapp.runtime import limit_threads

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


def _compute(token: str, state: dict[str, Any], trust_pickle: bool) -> None:
    from auditapp import workspace
    from auditapp.config import Settings
    from auditapp.store import ArtifactStore

    settings = Settings.from_env()
    store = ArtifactStore(settings.data_dir, redis_url=settings.redis_url or "")
    workspace.audit_for(store, token, state, trust_pickle=trust_pickle)


@lru_cache(maxsize=1)
def _helper() -> tuple[int, ProcessPoolExecutor]:
    # "spawn", not the process-wide fork server: the mitigation runner uses that one, and a background
    # job forked from this process must not inherit a fork server it cannot talk to.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_helper,
                               initargs=(os.getpid(),))
    return os.getpid(), pool


def audit_in_helper(token: str, state: dict[str, Any], *, trust_pickle: bool, timeout: float) -> bool:
    """Compute (and cache) the audit for ``state`` in the helper; False if the helper is unavailable.

    A user's mistake raised there (``AuditInputError``) is raised here unchanged.
    """
    if multiprocessing.current_process().daemon:
        # A Celery or background-job worker: daemonic processes may not start children, and they are
        # already off the web process, so they compute themselves.
        return False
    owner, pool = _helper()
    if owner != os.getpid():
        # A forked background job inherited the web process's helper, whose threads it does not have:
        # it is already off the web process, so it computes itself.
        return False
    try:
        pool.submit(_compute, token, state, trust_pickle).result(timeout=timeout)
    except BrokenProcessPool:
        log.warning("The audit helper process ended; computing in the web process instead.")
        _helper.cache_clear()
        return False
    return True


def _ready() -> int:
    """Run in the helper: import what an audit needs, so the first audit starts at once."""
    import auditapp.audit  # noqa: F401
    import auditapp.workspace  # noqa: F401

    return os.getpid()


def start_helper() -> Future | None:
    """Start the helper process ahead of the first audit (gunicorn's post_fork hook calls this).

    Returns the future of its start-up (its result is the helper's process id), or None when the
    operator turned the helper off (``AUDITAPP_AUDIT_HELPER=0``).
    """
    from auditapp.config import Settings

    if not Settings.from_env().audit_helper:
        return None
    return _helper()[1].submit(_ready)
