"""Server-side artifact store: uploads and cached results, scoped to browser sessions.

The browser holds only a signed session token and artifact ids. Uploaded files are stored once,
content-addressed by sha256; each session keeps its own index of the artifacts it uploaded, so a
session can list and read only its own uploads (plus the built-in scenarios every session may read).
Guessing an artifact id, or presenting a forged token, returns nothing.

Results of expensive computations are cached by key (dataset, model, spec) on disk, so every web
worker process can reuse them, with a small in-process LRU in front.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditapp.errors import AuditInputError

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}\.[0-9a-f]{32}$")
_ARTIFACT = re.compile(r"^(builtin:[a-z0-9-]+|[0-9a-f]{64})$")


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


class SessionError(AuditInputError):
    """The session token is missing, malformed or not signed by this server."""


class ArtifactStore:
    """Local-disk artifact store under ``root`` (see module docstring)."""

    def __init__(self, root: str | os.PathLike, *, secret: bytes | None = None, memory_items: int = 8):
        self.root = Path(root)
        for sub in ("blobs", "sessions", "cache", "builtin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._secret = secret or self._load_secret()
        self._memory: OrderedDict[str, Any] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()

    # -- sessions ---------------------------------------------------------------------------------
    def _load_secret(self) -> bytes:
        """One secret per data directory, shared by every worker process (created once, atomically)."""
        from_env = os.environ.get("AUDITAPP_SECRET")
        if from_env:
            return from_env.encode()
        path = self.root / "secret.key"
        if not path.exists():
            _atomic_write(path, secrets.token_bytes(32), exclusive=True)
        return path.read_bytes()

    def _sign(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode(), hashlib.sha256).hexdigest()[:32]

    def new_session(self) -> str:
        """A new unguessable, signed session token."""
        sid = secrets.token_urlsafe(24)
        return f"{sid}.{self._sign(sid)}"

    def session_id(self, token: str | None) -> str:
        """The session id inside a valid token, or ``SessionError``."""
        if not token or not _TOKEN.match(token):
            raise SessionError("Your session has expired or is not valid. Reload the page to start a new one.")
        sid, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(sid)):
            raise SessionError("Your session has expired or is not valid. Reload the page to start a new one.")
        return sid

    def _index_path(self, token: str) -> Path:
        return self.root / "sessions" / f"{self.session_id(token)}.json"

    def _read_index(self, token: str) -> dict[str, dict]:
        path = self._index_path(token)
        return json.loads(path.read_text()) if path.exists() else {}

    # -- artifacts --------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def put(self, token: str, data: bytes, *, kind: str, name: str, meta: dict | None = None) -> ArtifactInfo:
        """Store ``data`` (once per content) and record it in the session's index."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.blob_path(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, data)
        return self._record(token, sha, kind=kind, name=name, size=len(data), meta=meta or {})

    def put_file(self, token: str, source: Path, sha256: str, *, kind: str, name: str,
                 meta: dict | None = None) -> ArtifactInfo:
        """Move an already-hashed temporary file into the store (streaming uploads)."""
        path = self.blob_path(sha256)
        size = source.stat().st_size
        if path.exists():
            source.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, path)
        return self._record(token, sha256, kind=kind, name=name, size=size, meta=meta or {})

    def _record(self, token, sha, *, kind, name, size, meta) -> ArtifactInfo:
        info = ArtifactInfo(id=sha, kind=kind, name=name, sha256=sha, size=size, created=time.time(), meta=meta)
        with self._lock:
            index = self._read_index(token)
            index[sha] = asdict(info)
            _atomic_write(self._index_path(token), json.dumps(index).encode())
        return info

    def register_builtin(self, key: str, path: Path, *, kind: str, name: str, meta: dict | None = None) -> str:
        """Make a file readable by every session as ``builtin:<key>``."""
        sha = _sha256_file(path)
        info = ArtifactInfo(id=f"builtin:{key}", kind=kind, name=name, sha256=sha, size=path.stat().st_size,
                            created=path.stat().st_mtime, meta=dict(meta or {}, path=str(path)))
        _atomic_write(self.root / "builtin" / f"{key}.json", json.dumps(asdict(info)).encode())
        return info.id

    def info(self, token: str, artifact_id: str) -> ArtifactInfo:
        """Metadata of an artifact this session may read, else ``AuditInputError``."""
        if not artifact_id or not _ARTIFACT.match(str(artifact_id)):
            raise AuditInputError("That file is not available in this session. Upload it again.")
        if artifact_id.startswith("builtin:"):
            self.session_id(token)
            path = self.root / "builtin" / f"{artifact_id.split(':', 1)[1]}.json"
            if not path.exists():
                raise AuditInputError(f"The built-in scenario '{artifact_id}' is not installed on this server.")
            return ArtifactInfo(**json.loads(path.read_text()))
        record = self._read_index(token).get(artifact_id)
        if record is None:
            raise AuditInputError("That file is not available in this session. Upload it again.")
        return ArtifactInfo(**record)

    def path(self, token: str, artifact_id: str) -> Path:
        """Where the bytes of an artifact this session may read are."""
        info = self.info(token, artifact_id)
        if artifact_id.startswith("builtin:"):
            return Path(info.meta["path"])
        return self.blob_path(info.sha256)

    def list(self, token: str, kind: str | None = None) -> list[ArtifactInfo]:
        """This session's uploads, newest first."""
        items = [ArtifactInfo(**r) for r in self._read_index(token).values()]
        items = [i for i in items if kind is None or i.kind == kind]
        return sorted(items, key=lambda i: i.created, reverse=True)

    # -- cache ------------------------------------------------------------------------------------
    def cached(self, key: tuple, compute: Callable[[], Any], *, disk: bool = True) -> Any:
        """Return the cached value for ``key`` or compute, cache and return it.

        Values are pickled only into this server's own cache directory (never read from uploads).
        """
        digest = hashlib.sha256(repr(key).encode()).hexdigest()
        with self._lock:
            if digest in self._memory:
                self._memory.move_to_end(digest)
                return self._memory[digest]
        path = self.root / "cache" / f"{digest}.pkl"
        value = None
        if disk and path.exists():
            try:
                value = pickle.loads(path.read_bytes())  # noqa: S301 - written by this server only
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                path.unlink(missing_ok=True)
                value = None
        if value is None:
            value = compute()
            if disk:
                _atomic_write(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        with self._lock:
            self._memory[digest] = value
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
        return value


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write to a temporary file and rename: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def default_store() -> ArtifactStore:
    """The store configured by ``AUDITAPP_DATA_DIR`` (default ``~/.cache/auditapp/app``)."""
    root = os.environ.get("AUDITAPP_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "auditapp", "app")
    return ArtifactStore(root)
