"""What callbacks share: the artifact store and settings of this process, and new audits fairly queued.

The one accessor between callbacks and services. ``create_app(settings)`` calls :func:`configure`
once with the settings built at start-up and the store they name; every callback asks
:func:`settings` and :func:`get_store` for them (tests configure this one place too).
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable

from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore

_lock = threading.Lock()
_settings: Settings | None = None
_store: ArtifactStore | None = None


def configure(settings: Settings, store: ArtifactStore | None = None) -> ArtifactStore:
    """Use ``settings`` (and ``store``, default the one they name) for every callback of this process."""
    global _settings, _store
    with _lock:
        settings.install()
        _settings, _store = settings, store if store is not None else settings.open_store()
        return _store


def settings() -> Settings:
    """The settings this process was started with (read from the environment once if never configured)."""
    if _settings is None:
        configure(Settings.from_env())
    assert _settings is not None
    return _settings


def get_store() -> ArtifactStore:
    """The artifact store this process was started with."""
    if _store is None:
        settings()
    assert _store is not None
    return _store


def client_gone() -> Callable[[], bool]:
    """A check of whether the browser that sent this request has closed its connection.

    A closed tab, a reload or a client that gave up closes the TCP connection; its socket then reads
    as end-of-file. Over TLS (or outside a request) nothing can be seen, and the check says False.
    """
    try:
        from flask import request

        environ = request.environ
    except RuntimeError:  # not inside a request
        return lambda: False
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if type(sock) is not socket.socket:  # absent, or TLS (an SSLSocket cannot peek)
        return lambda: False

    def gone() -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, ValueError):
            return False
        except OSError:  # reset by the peer
            return True

    return gone


def audit_for(token, state):
    """The cached audit for a browser state (computed, when new, in a fair share of the machine)."""
    from auditapp.service import workspace
    from auditapp.service.audit_queue import compute_fairly
    from callbacks.first_view import note_state

    current, store = settings(), get_store()
    abandoned = client_gone()

    def compute(token, state) -> bool:
        return compute_fairly(store, token, state, settings=current, abandoned=abandoned)

    audit = workspace.audit_for(store, token, state, trust_pickle=current.trust_pickle, compute_elsewhere=compute)
    note_state(token, state)  # the workspace's next page load is drawn for the state it last audited
    return audit


def cached_audit(token, state):
    """The audit of a browser state if it is cached already, else None (see ``workspace.cached_audit``)."""
    from auditapp.service import workspace

    return workspace.cached_audit(get_store(), token, state, trust_pickle=settings().trust_pickle)
