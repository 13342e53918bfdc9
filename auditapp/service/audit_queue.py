"""New audits, computed one fair share at a time.

An audit nobody has computed yet waits for one of the server's audit slots (``auditapp.service.slots``: at
most ``AUDITAPP_MAX_AUDITS`` at once, ``AUDITAPP_MAX_AUDITS_PER_SESSION`` per session), then runs in
a low-priority helper process (``auditapp.service.audit_helper``). Several requests of one session for the
same audit (the callbacks of one page) share one slot. While it waits or runs, the audit stops when

- its session cancels it (:func:`cancel_audits`, the Cancel button next to "2 audits ahead of yours"),
- the request that asked for it is abandoned (``abandoned()``: the web layer checks the connection),
- it runs longer than ``AUDITAPP_JOB_TIME_LIMIT``;

its helper is then killed, and the slot freed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from auditapp.service import workspace
from auditapp.service.config import Settings
from auditapp.service.slots import AUDITS, Caps, FairQueue, Place
from auditapp.service.store import ArtifactStore

CANCELLED = "Your audit was cancelled before it finished; nothing was kept. Press Run audit to start it again."
ABANDONED = "The request for this audit was abandoned (its page was closed or its connection dropped)."


@lru_cache(maxsize=4)
def _queue(data_dir: str, redis_url: str | None, caps: Caps) -> FairQueue:
    return FairQueue.for_server(AUDITS, data_dir, redis_url, caps=caps)


def audit_queue(settings: Settings) -> FairQueue:
    """The audit queue every process of this server shares (with ``settings.audit_caps``)."""
    return _queue(settings.data_dir, settings.redis_url, settings.audit_caps)


def compute_fairly(store: ArtifactStore, token: str, state: dict[str, Any], *, settings: Settings,
                   abandoned: Callable[[], bool] | None = None,
                   on_wait: Callable[[Place], None] | None = None) -> bool:
    """Compute (and cache) the audit ``state`` describes in one of the server's audit slots.

    Returns True once the audit is in the store's cache. Raises what the audit raises
    (``AuditInputError`` and its kinds), and ``WorkCancelledError``, ``QueueFullError`` or
    ``QueueTimeoutError`` from the queue.
    """
    from auditapp.service.audit_helper import audit_in_helper

    session = store.session_id(token)
    key = ("audit", *workspace.state_key(store, token, state))
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    queue = audit_queue(settings)
    while True:
        with queue.slot(session, key=name, on_wait=on_wait, abandoned=abandoned) as slot:
            if store.peek(key) is not None:
                return True
            if slot.followed:
                continue  # the other request of this session failed or stopped: take a slot of our own

            def stop(slot=slot) -> str | None:
                if abandoned is not None and abandoned():
                    return ABANDONED
                return CANCELLED if slot.cancelled() else None

            if settings.audit_helper and audit_in_helper(token, state, settings=settings, stop=stop):
                return True
            workspace.audit_for(store, token, state, trust_pickle=settings.trust_pickle)
            return True


def cancel_audits(settings: Settings, store: ArtifactStore, token: str) -> int:
    """Cancel this session's waiting and running audits; return how many there were."""
    return audit_queue(settings).cancel(store.session_id(token))


def audit_status(settings: Settings, store: ArtifactStore, token: str) -> str | None:
    """What to tell this session about its new audit ("… 2 audits ahead of yours"), or None."""
    queue = audit_queue(settings)
    places = queue.places(store.session_id(token))
    return places[0].message(queue.kind, queue.caps) if places else None
