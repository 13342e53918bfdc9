"""Server-side artifact store: uploads and cached results, scoped to browser sessions.

The browser holds only a signed session token and artifact ids. Uploaded files are stored once,
content-addressed by sha256; each session keeps its own index of the artifacts it uploaded, so a
session can list and read only its own uploads (plus the built-in scenarios every session may read).
Guessing an artifact id, or presenting a forged token, returns nothing.

Two backends share this one API. By default everything lives under a local directory. When
``AUDITAPP_REDIS_URL`` is set, blobs, session indexes, the result cache and the signing secret live in
Redis, so web and worker processes on several machines share them; each machine keeps a local copy of
the blobs it reads (code that loads a file needs a path). Blobs are stored as 4 MB chunks in a Redis
list, so the only size limit is Redis memory (100 MB uploads were tested).

Stored artifacts expire ``ttl`` seconds (``AUDITAPP_ARTIFACT_TTL``, default 7 days) after their last
use. A running job *pins* what it reads (:meth:`ArtifactStore.lease`); expiry never removes a pinned
blob or session index.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import pickle
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditapp.errors import AuditInputError
from auditapp.limits import positive_int
from auditapp.sizes import estimated_bytes
from auditapp.store_backends import DiskBackend, RedisBackend, sha256_file

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}\.[0-9a-f]{32}$")
_ARTIFACT = re.compile(r"^(builtin:[a-z0-9-]+|[0-9a-f]{64})$")
_SWEEP_EVERY = 3600
_NOT_AVAILABLE = "That file is not available in this session. Upload it again."
MEMORY_CACHE_BYTES = 1024**3
DISK_VALUE_BYTES = 256 * 1024**2
_GRANTS_REMEMBERED = 20_000
log = logging.getLogger("auditapp.store")


@dataclass(frozen=True)
class ArtifactInfo:
    """What the store knows about one artifact."""

    id: str
    kind: str          # "dataset" | "model"
    name: str          # the file name the user gave
    sha256: str
    size: int
    created: float
    meta: dict


class _NotCached(Exception):
    """Raised inside ``peek`` to stop ``cached`` from computing."""


class SessionError(AuditInputError):
    """The session token is missing, malformed or not signed by this server."""


class ArtifactStore:
    """The artifact store under ``root`` (see module docstring).

    Parameters
    ----------
    root : path
        Local directory: the whole store (disk backend) or this machine's copies (Redis backend).
    secret : bytes, optional
        Key that signs session tokens; default ``AUDITAPP_SECRET``, else one shared by every process.
    memory_items : int
        Most values in the in-process LRU in front of the result cache.
    memory_bytes : int, optional
        Most bytes (estimated, ``auditapp.sizes``) in that LRU; default ``AUDITAPP_MEMORY_CACHE_BYTES``
        or 1 GB. A value larger than this is returned but not kept.
    disk_value_bytes : int, optional
        Largest value pickled into the shared cache; default ``AUDITAPP_DISK_CACHE_MAX_BYTES`` or
        256 MB. Larger values are recomputed by each process that needs them (a parsed dataset is
        read again from its file) rather than written and read as huge pickles.
    redis_url : str, optional
        Use Redis; default ``AUDITAPP_REDIS_URL`` (pass ``""`` to force the disk backend).
    ttl : int, optional
        Seconds after last use before artifacts expire; default ``AUDITAPP_ARTIFACT_TTL`` or 7 days.
    """

    def __init__(self, root: str | os.PathLike, *, secret: bytes | None = None, memory_items: int = 32,
                 redis_url: str | None = None, ttl: int | None = None, memory_bytes: int | None = None,
                 disk_value_bytes: int | None = None):
        self.root = Path(root)
        for sub in ("blobs", "sessions", "cache", "builtin", "pins", "tmp", "grants", "throttle"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        url = os.environ.get("AUDITAPP_REDIS_URL", "") if redis_url is None else redis_url
        self.ttl = int(ttl) if ttl is not None else positive_int("AUDITAPP_ARTIFACT_TTL")
        self.backend = RedisBackend(url, self.root, self.ttl) if url else DiskBackend(self.root, self.ttl)
        self._secret = secret or self._load_secret()
        self._memory: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._memory_items = memory_items
        self._memory_bytes = memory_bytes or positive_int("AUDITAPP_MEMORY_CACHE_BYTES", MEMORY_CACHE_BYTES)
        self._memory_used = 0
        self._disk_value_bytes = disk_value_bytes or positive_int("AUDITAPP_DISK_CACHE_MAX_BYTES",
                                                                  DISK_VALUE_BYTES)
        self._granted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        """``"redis"`` or ``"disk"``."""
        return self.backend.name

    # -- sessions ---------------------------------------------------------------------------------
    def _load_secret(self) -> bytes:
        """One secret per store, shared by every worker process (created once, atomically)."""
        from_env = os.environ.get("AUDITAPP_SECRET")
        if from_env:
            return from_env.encode()
        return self.backend.secret(lambda: secrets.token_bytes(32))

    def _sign(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode(), hashlib.sha256).hexdigest()[:32]

    def signing_key(self, purpose: str) -> bytes:
        """A key derived from the store's secret for another use (e.g. login cookies), shared by every process."""
        return hmac.new(self._secret, f"auditapp:{purpose}".encode(), hashlib.sha256).digest()

    def recent_failures(self, key: str, *, window: float, add: bool = False, keep: int = 100) -> list[float]:
        """Times of ``key``'s failures in the last ``window`` seconds, shared by every process (login throttle).

        ``add`` records one now; at most the last ``keep`` are kept.
        """
        return self.backend.failures(key, time.time(), window, add=add, keep=keep)

    def new_session(self) -> str:
        """A new unguessable, signed session token (and, at most hourly, an expiry sweep)."""
        self._maybe_sweep()
        sid = secrets.token_urlsafe(24)
        return f"{sid}.{self._sign(sid)}"

    def session_id(self, token: str | None) -> str:
        """The session id inside a valid token, or ``SessionError``."""
        if not token or not isinstance(token, str) or not _TOKEN.match(token):
            raise SessionError("Your session has expired or is not valid. Reload the page to start a new one.")
        sid, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(sid)):
            raise SessionError("Your session has expired or is not valid. Reload the page to start a new one.")
        return sid

    # -- artifacts --------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        """Where this machine keeps (a copy of) the blob with this hash."""
        return self.root / "blobs" / sha256[:2] / sha256

    def put(self, token: str, data: bytes, *, kind: str, name: str, meta: dict | None = None) -> ArtifactInfo:
        """Store ``data`` (once per content) and record it in the session's index."""
        sha = hashlib.sha256(data).hexdigest()
        self.session_id(token)
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp", prefix="put-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return self.put_file(token, Path(tmp), sha, kind=kind, name=name, meta=meta)

    def put_file(self, token: str, source: Path, sha256: str, *, kind: str, name: str,
                 meta: dict | None = None) -> ArtifactInfo:
        """Move an already-hashed temporary file into the store (streaming uploads)."""
        sid = self.session_id(token)
        size = source.stat().st_size
        self.backend.put_blob(sha256, source, self.blob_path(sha256))
        info = ArtifactInfo(id=sha256, kind=kind, name=name, sha256=sha256, size=size, created=time.time(),
                            meta=meta or {})
        self.backend.index_set(sid, sha256, asdict(info))
        return info

    def register_builtin(self, key: str, path: Path, *, kind: str, name: str, meta: dict | None = None) -> str:
        """Make a file readable by every session as ``builtin:<key>``.

        With Redis the first machine to register a key wins and its bytes are shared, so every machine
        audits the same bytes (a regenerated model file can differ byte for byte) and shares cached results.
        """
        sha = sha256_file(path)
        info = ArtifactInfo(id=f"builtin:{key}", kind=kind, name=name, sha256=sha, size=path.stat().st_size,
                            created=path.stat().st_mtime, meta=dict(meta or {}, path=str(path)))
        self.backend.builtin_set(key, asdict(info), path)
        return info.id

    def info(self, token: str, artifact_id: str) -> ArtifactInfo:
        """Metadata of an artifact this session may read, else ``AuditInputError``."""
        sid = self.session_id(token)
        if not artifact_id or not isinstance(artifact_id, str) or not _ARTIFACT.match(artifact_id):
            raise AuditInputError(_NOT_AVAILABLE)
        if artifact_id.startswith("builtin:"):
            record = self.backend.builtin_get(artifact_id.split(":", 1)[1])
            if record is None:
                raise AuditInputError(f"The built-in scenario '{artifact_id}' is not installed on this server.")
            return ArtifactInfo(**record)
        record = self.backend.index_get(sid, artifact_id)
        if record is None:
            raise AuditInputError(_NOT_AVAILABLE)
        return ArtifactInfo(**record)

    def path(self, token: str, artifact_id: str) -> Path:
        """Where the bytes of an artifact this session may read are (fetched to this machine if needed)."""
        info = self.info(token, artifact_id)
        if artifact_id.startswith("builtin:") and self.kind == "disk":
            return Path(info.meta["path"])
        path = self.backend.get_blob(info.sha256, self.blob_path(info.sha256))
        if path is None:
            days = self.ttl / 86400
            raise AuditInputError(
                f"'{info.name}' has expired: this server keeps files for {days:g} days after their last use. "
                "Upload it again.")
        return path

    def list(self, token: str, kind: str | None = None) -> list[ArtifactInfo]:
        """This session's uploads, newest first."""
        items = [ArtifactInfo(**r) for r in self.backend.index_all(self.session_id(token)).values()]
        items = [i for i in items if kind is None or i.kind == kind]
        return sorted(items, key=lambda i: i.created, reverse=True)

    # -- expiry -----------------------------------------------------------------------------------
    def pin(self, token: str, artifact_ids: Iterable[str], *, seconds: float) -> list[str]:
        """Keep these artifacts (and the session's index) from expiring for ``seconds``; return their hashes."""
        sid = self.session_id(token)
        shas = [self.info(token, a).sha256 for a in artifact_ids if a and not str(a).startswith("builtin:")]
        self.backend.pin(sid, shas, seconds)
        return shas

    @contextlib.contextmanager
    def lease(self, token: str, artifact_ids: Iterable[str], *, seconds: float = 60.0) -> Iterator[list[str]]:
        """Pin artifacts while the ``with`` block runs, renewing the pin every ``seconds / 3``."""
        ids = [a for a in artifact_ids if a]
        shas = self.pin(token, ids, seconds=seconds)
        done = threading.Event()

        def renew() -> None:
            while not done.wait(seconds / 3):
                self.pin(token, ids, seconds=seconds)

        thread = threading.Thread(target=renew, name="auditapp-lease", daemon=True)
        thread.start()
        try:
            yield shas
        finally:
            done.set()
            thread.join()

    def sweep(self, *, now: float | None = None) -> dict[str, int]:
        """Remove artifacts, indexes and cached results unused for ``ttl`` seconds, except pinned ones."""
        removed = self.backend.sweep(now if now is not None else time.time())
        stale = (now if now is not None else time.time()) - 86400
        for tmp in (self.root / "tmp").iterdir():
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime < stale:
                    tmp.unlink()
        return removed

    def _maybe_sweep(self) -> None:
        marker = self.root / "last-sweep"
        try:
            if time.time() - marker.stat().st_mtime < min(_SWEEP_EVERY, self.ttl / 4):
                return
        except FileNotFoundError:
            pass
        marker.touch()
        self.sweep()

    # -- cache ------------------------------------------------------------------------------------
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


def _digest(key: tuple) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


# -- backends ---------------------------------------------------------------------------------------
def default_store() -> ArtifactStore:
    """The store configured by ``AUDITAPP_DATA_DIR`` (default ``~/.cache/auditapp/app``) and
    ``AUDITAPP_REDIS_URL`` / ``AUDITAPP_ARTIFACT_TTL``."""
    root = os.environ.get("AUDITAPP_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "auditapp", "app")
    return ArtifactStore(root)
