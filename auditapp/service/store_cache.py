"""The result cache of the artifact store: shared by content, found only by the sessions granted it.

Values are cached under a digest of their key and of auditapp's source (``engine_fingerprint``): in an
in-process LRU bounded in items and in bytes (``auditapp.core.sizes``), and, unless too large, pickled into
the backend (local disk or Redis) so every process shares them. A session finds a result only if it computed it or was granted it; the grants
live in the backend next to the session's index.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.core.sizes import estimated_bytes

MEMORY_CACHE_BYTES = 1024**3
DISK_VALUE_BYTES = 256 * 1024**2
_GRANTS_REMEMBERED = 20_000
log = logging.getLogger("auditapp.service.store")


class SessionError(AuditInputError):
    """The session token is missing, malformed or not signed by this server."""


class _NotCached(Exception):
    """Raised inside ``peek`` to stop ``cached`` from computing."""


class ResultCache:
    """The cache half of :class:`auditapp.service.store.ArtifactStore` (which sets the attributes used here)."""

    # Set by ArtifactStore.__init__:
    backend: Any  # DiskBackend or RedisBackend
    _memory: OrderedDict[str, tuple[Any, int]]
    _memory_items: int
    _memory_bytes: int
    _memory_used: int
    _disk_value_bytes: int
    _granted: OrderedDict[tuple[str, str], None]
    _lock: threading.Lock

    def session_id(self, token: str | None) -> str:
        """The session a token names (the store checks its signature)."""
        raise NotImplementedError

    def peek(self, key: tuple) -> Any | None:
        """The cached value for ``key``, or None when nothing is cached (never computes).

        For the server's own decisions only: what a session may see goes through :meth:`find`.
        """

        def missing() -> Any:
            raise _NotCached

        try:
            return self.cached(key, missing)
        except _NotCached:
            return None

    def find(self, token: str, key: tuple) -> Any | None:
        """The cached value for ``key`` if this session computed it or was given it, else None.

        Results are cached by content and shared, but a session finds only the ones it holds a grant
        for (:meth:`cached` with its token, or :meth:`grant`): a key read in someone else's report
        or guessed finds nothing.
        """
        if not self.granted(token, key):
            return None
        return self.peek(key)

    def grant(self, token: str, key: tuple) -> None:
        """Let the session of ``token`` find the result cached under ``key``."""
        sid = self.session_id(token)
        digest = _digest(key)
        with self._lock:
            if (sid, digest) in self._granted:
                self._granted.move_to_end((sid, digest))
                return
        self.backend.grant(sid, digest)
        self._remember_grant(sid, digest)

    def granted(self, token: str, key: tuple) -> bool:
        """Whether the session of ``token`` may find the result cached under ``key``."""
        try:
            sid = self.session_id(token)
        except SessionError:
            return False
        digest = _digest(key)
        with self._lock:
            if (sid, digest) in self._granted:
                return True
        if self.backend.granted(sid, digest):
            self._remember_grant(sid, digest)
            return True
        return False

    def _remember_grant(self, sid: str, digest: str) -> None:
        with self._lock:
            self._granted[(sid, digest)] = None
            while len(self._granted) > _GRANTS_REMEMBERED:
                self._granted.popitem(last=False)

    def cached(self, key: tuple, compute: Callable[[], Any], *, disk: bool = True,
               token: str | None = None) -> Any:
        """Return the cached value for ``key`` or compute, cache and return it.

        ``disk=True`` shares the value with every process (local disk, or Redis when configured), unless
        it is larger than ``disk_value_bytes``. Values are pickled only by this server into its own
        cache (never read from uploads). ``token`` grants that session the result (see :meth:`find`).
        """
        digest = _digest(key)
        with self._lock:
            hit = self._memory.get(digest)
            if hit is not None:
                self._memory.move_to_end(digest)
        if hit is not None:
            value = hit[0]
        else:
            value = None
            raw = self.backend.cache_get(digest) if disk else None
            if raw is not None:
                try:
                    value = pickle.loads(raw)  # noqa: S301 - written by this server only
                except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                    self.backend.cache_delete(digest)
                    value = None
            del raw
            computed = value is None
            if computed:
                value = compute()
            size = estimated_bytes(value)
            if computed and disk:
                self._write(digest, value, size)
            self._keep(digest, value, size)
        if token is not None:
            self.grant(token, key)
        return value

    def _write(self, digest: str, value: Any, size: int) -> None:
        """Pickle ``value`` into the shared cache unless it is larger than ``disk_value_bytes``."""
        if size > self._disk_value_bytes:
            log.info("Not writing a %d-byte value to the shared cache (limit %d).", size, self._disk_value_bytes)
            return
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(raw) <= self._disk_value_bytes:
            self.backend.cache_set(digest, raw)

    def _keep(self, digest: str, value: Any, size: int) -> None:
        """Keep ``value`` in the in-process LRU, evicting the oldest past the item and byte limits."""
        if size > self._memory_bytes:
            return
        with self._lock:
            old = self._memory.pop(digest, None)
            if old is not None:
                self._memory_used -= old[1]
            self._memory[digest] = (value, size)
            self._memory_used += size
            while self._memory and (len(self._memory) > self._memory_items
                                    or self._memory_used > self._memory_bytes):
                _, (_, dropped) = self._memory.popitem(last=False)
                self._memory_used -= dropped

    @property
    def memory_used(self) -> int:
        """Estimated bytes held by the in-process LRU."""
        return self._memory_used


@functools.cache
def engine_fingerprint() -> str:
    """A digest of auditapp's own source files. Results are cached under it too, so a result computed by other
    code (before an upgrade, or by a process running another version) is never found: a fix or a changed
    default shows at once instead of a stale number. Processes of one deployment run the same files and share
    their results."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _digest(key: tuple) -> str:
    return hashlib.sha256((engine_fingerprint() + repr(key)).encode()).hexdigest()
