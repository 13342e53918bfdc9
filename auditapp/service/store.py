"""Server-side artifact store: uploads and cached results, scoped to browser sessions.

The browser holds only a signed session token and artifact ids. Uploaded files are stored once,
content-addressed by sha256; each session keeps its own index of the artifacts it uploaded, so a
session can list and read only its own uploads (plus the built-in scenarios every session may read).
Guessing an artifact id, or presenting a forged token, returns nothing. Cached results are shared by
content but found only by the sessions that computed them or were granted them (``store_cache``).

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

import builtins
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.core.limits import DEFAULTS
from auditapp.service.store_backends import DiskBackend, RedisBackend, sha256_file
from auditapp.service.store_cache import (
    DISK_VALUE_BYTES,
    MEMORY_CACHE_BYTES,
    ResultCache,
    SessionError,
)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}\.[0-9a-f]{32}$")
_ARTIFACT = re.compile(r"^(builtin:[a-z0-9-]+|[0-9a-f]{64})$")
_SWEEP_EVERY = 3600
_NOT_AVAILABLE = "That file is not available in this session. Upload it again."


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


class ArtifactStore(ResultCache):
    """The artifact store under ``root`` (see module docstring).

    Parameters
    ----------
    root : path
        Local directory: the whole store (disk backend) or this machine's copies (Redis backend).
    secret : bytes, optional
        Key that signs session tokens; default one kept in the store, shared by every process
        (``Settings.secret``, ``AUDITAPP_SECRET``, gives one).
    memory_items : int
        Most values in the in-process LRU in front of the result cache.
    memory_bytes : int, optional
        Most bytes (estimated, ``auditapp.core.sizes``) in that LRU; default 1 GB
        (``AUDITAPP_MEMORY_CACHE_BYTES`` through ``Settings``). A value larger than this is returned but not kept.
    disk_value_bytes : int, optional
        Largest value pickled into the shared cache; default 256 MB
        (``AUDITAPP_DISK_CACHE_MAX_BYTES`` through ``Settings``). Larger values are recomputed by each process that needs them (a parsed dataset is
        read again from its file) rather than written and read as huge pickles.
    redis_url : str, optional
        Use Redis at this URL; default (None or ``""``) the disk backend under ``root``.
    ttl : int, optional
        Seconds after last use before artifacts expire; default 7 days.
    """

    def __init__(self, root: str | os.PathLike, *, secret: bytes | None = None, memory_items: int = 32,
                 redis_url: str | None = None, ttl: int | None = None, memory_bytes: int | None = None,
                 disk_value_bytes: int | None = None):
        self.root = Path(root)
        for sub in ("blobs", "sessions", "cache", "builtin", "pins", "tmp", "grants", "throttle"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        url = redis_url or ""
        self.ttl = int(ttl) if ttl is not None else DEFAULTS["AUDITAPP_ARTIFACT_TTL"]
        self.backend = RedisBackend(url, self.root, self.ttl) if url else DiskBackend(self.root, self.ttl)
        self._secret = secret or self._load_secret()
        self._memory: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._memory_items = memory_items
        self._memory_bytes = memory_bytes or MEMORY_CACHE_BYTES
        self._memory_used = 0
        self._disk_value_bytes = disk_value_bytes or DISK_VALUE_BYTES
        self._granted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        """``"redis"`` or ``"disk"``."""
        return self.backend.name

    # -- sessions ---------------------------------------------------------------------------------
    def _load_secret(self) -> bytes:
        """One secret per store, shared by every worker process (created once, atomically)."""
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
    def pin(self, token: str, artifact_ids: Iterable[str], *, seconds: float) -> builtins.list[str]:
        """Keep these artifacts (and the session's index) from expiring for ``seconds``; return their hashes."""
        sid = self.session_id(token)
        shas = [self.info(token, a).sha256 for a in artifact_ids if a and not str(a).startswith("builtin:")]
        self.backend.pin(sid, shas, seconds)
        return shas

    @contextlib.contextmanager
    def lease(self, token: str, artifact_ids: Iterable[str], *, seconds: float = 60.0) -> Iterator[builtins.list[str]]:
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

# -- backends ---------------------------------------------------------------------------------------
