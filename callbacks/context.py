"""What callbacks share: the artifact store and settings of this process, and new audits fairly queued.

The one accessor for services: ``settings()`` is the process's configured settings
(``auditapp.service.config.current``) and ``get_store()`` the store they name; a test configures the
settings once and every callback sees the same store.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable

from auditapp.service import config
from auditapp.service.config import Settings
from auditapp.service.store import ArtifactStore


def settings() -> Settings:
    """This process's settings (configured when the app was created)."""
    return config.current()


_STORES: dict[tuple[str, str], ArtifactStore] = {}


def get_store() -> ArtifactStore:
    """The artifact store the settings name (one per folder and Redis address, made on first use)."""
    current = settings()
    key = (str(current.data_dir), current.redis_url or "")
    store = _STORES.get(key)
    if store is None:
        store = _STORES.setdefault(key, ArtifactStore(key[0], redis_url=key[1]))
    return store


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

    current, store = settings(), get_store()
    abandoned = client_gone()

    def compute(token, state) -> bool:
        return compute_fairly(store, token, state, settings=current, abandoned=abandoned)

    return workspace.audit_for(store, token, state, trust_pickle=current.trust_pickle, compute_elsewhere=compute)
