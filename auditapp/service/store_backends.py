"""Where the artifact store keeps its bytes: local disk (one machine) or Redis (a team).

Both backends offer the same small interface to ``auditapp.service.store.ArtifactStore``; see its docstring for
what is stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditapp.inputs.intake import sha256_file


class DiskBackend:
    """Everything under one local directory; expiry by file modification time (touched on use)."""

    name = "disk"

    def __init__(self, root: Path, ttl: int):
        self.root, self.ttl = root, ttl

    def secret(self, generate: Callable[[], bytes]) -> bytes:
        path = self.root / "secret.key"
        if not path.exists():
            atomic_write(path, generate(), exclusive=True)
        return path.read_bytes()

    def _touch(self, path: Path) -> None:
        """Mark as used (at most every ttl/20 seconds, so reads stay cheap)."""
        with contextlib.suppress(FileNotFoundError):
            if time.time() - path.stat().st_mtime > self.ttl / 20:
                os.utime(path)

    def builtin_set(self, key: str, record: dict, path: Path) -> None:
        atomic_write(self.root / "builtin" / f"{key}.json", json.dumps(record).encode())

    def builtin_get(self, key: str) -> dict | None:
        try:
            return json.loads((self.root / "builtin" / f"{key}.json").read_text())
        except FileNotFoundError:
            return None

    def put_blob(self, sha: str, source: Path, dest: Path) -> None:
        if dest.exists():
            source.unlink(missing_ok=True)
            os.utime(dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, dest)

    def get_blob(self, sha: str, dest: Path) -> Path | None:
        if not dest.exists():
            return None
        self._touch(dest)
        return dest

    def _index_path(self, sid: str) -> Path:
        return self.root / "sessions" / f"{sid}.json"

    def index_all(self, sid: str) -> dict[str, dict]:
        path = self._index_path(sid)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {}

    def index_get(self, sid: str, artifact_id: str) -> dict | None:
        record = self.index_all(sid).get(artifact_id)
        if record is not None:
            self._touch(self._index_path(sid))
        return record

    def index_set(self, sid: str, artifact_id: str, record: dict) -> None:
        # A file lock, not a thread lock: two gunicorn workers may record uploads of one session at once.
        with open(self.root / "sessions" / f".{sid}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            index = self.index_all(sid)
            index[artifact_id] = record
            atomic_write(self._index_path(sid), json.dumps(index).encode())

    def _grant_path(self, sid: str, digest: str) -> Path:
        return self.root / "grants" / sid / digest

    def grant(self, sid: str, digest: str) -> None:
        path = self._grant_path(sid, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def granted(self, sid: str, digest: str) -> bool:
        path = self._grant_path(sid, digest)
        if not path.exists():
            return False
        self._touch(path)
        return True

    def failures(self, key: str, now: float, window: float, *, add: bool, keep: int) -> list[float]:
        """Times of the failures of ``key`` in the last ``window`` seconds (recording one at ``now`` if ``add``)."""
        path = self.root / "throttle" / hashlib.sha256(key.encode()).hexdigest()
        if not add:
            return [t for t in _read_times(path) if t > now - window]
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            times = [t for t in _read_times(path) if t > now - window] + [now]
            atomic_write(path, json.dumps(times[-keep:]).encode())
        return times

    def cache_get(self, digest: str) -> bytes | None:
        path = self.root / "cache" / f"{digest}.pkl"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        self._touch(path)
        return data

    def cache_set(self, digest: str, data: bytes) -> None:
        atomic_write(self.root / "cache" / f"{digest}.pkl", data)

    def cache_delete(self, digest: str) -> None:
        (self.root / "cache" / f"{digest}.pkl").unlink(missing_ok=True)

    def pin(self, sid: str, shas: list[str], seconds: float) -> None:
        until = time.time() + seconds
        for name in (f"session-{sid}", *(f"blob-{s}" for s in shas)):
            path = self.root / "pins" / name
            if self._pinned_until(path) < until:
                atomic_write(path, repr(until).encode())

    @staticmethod
    def _pinned_until(path: Path) -> float:
        try:
            return float(path.read_text())
        except (FileNotFoundError, ValueError):
            return 0.0

    def _unpinned(self, name: str, now: float) -> bool:
        return self._pinned_until(self.root / "pins" / name) <= now

    def sweep(self, now: float) -> dict[str, int]:
        cutoff = now - self.ttl
        removed = {"blobs": 0, "sessions": 0, "cache": 0, "grants": 0}
        groups = (("blobs", self.root.glob("blobs/*/*"), lambda p: f"blob-{p.name}"),
                  ("sessions", self.root.glob("sessions/*.json"), lambda p: f"session-{p.stem}"),
                  ("cache", self.root.glob("cache/*.pkl"), None),
                  ("grants", self.root.glob("grants/*/*"), lambda p: f"session-{p.parent.name}"))
        for label, paths, pin_name in groups:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff and (pin_name is None or self._unpinned(pin_name(path), now)):
                        path.unlink()
                        removed[label] += 1
        for path in self.root.glob("throttle/*"):  # failed-login records: an hour is past every window
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < now - 3600:
                    path.unlink()
        for folder in self.root.glob("grants/*"):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        for pin in self.root.glob("pins/*"):
            if self._pinned_until(pin) <= now:
                pin.unlink(missing_ok=True)
        return removed


class RedisBackend:
    """Blobs (4 MB chunks in a list), session indexes (hashes), cache and secret in Redis, with TTLs.

    Redis expires keys itself; using a key renews its TTL and a pin extends it (``EXPIRE ... GT`` never
    shortens it). Local blob copies are swept like the disk backend's blobs.
    """

    name = "redis"
    CHUNK = 4 << 20

    def __init__(self, url: str, root: Path, ttl: int, prefix: str = "auditapp:"):
        import redis

        # redis-py types its commands for sync and async clients at once; this client is synchronous.
        self.redis: Any = redis.Redis.from_url(url)
        self.ttl, self.prefix = ttl, prefix
        self.local = DiskBackend(root, ttl)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def secret(self, generate: Callable[[], bytes]) -> bytes:
        self.redis.set(self._key("secret"), generate(), nx=True)
        return self.redis.get(self._key("secret"))

    def builtin_set(self, key: str, record: dict, path: Path) -> None:
        if self.redis.hexists(self._key("builtin"), key):
            return
        self._push(self._key("blob", record["sha256"]), path)
        if self.redis.hsetnx(self._key("builtin"), key, json.dumps(record)):
            self.redis.persist(self._key("blob", record["sha256"]))  # built-ins never expire

    def builtin_get(self, key: str) -> dict | None:
        raw = self.redis.hget(self._key("builtin"), key)
        return json.loads(raw) if raw else None

    def _push(self, key: str, source: Path) -> None:
        """Upload a file as one list key, atomically (readers see all of it or nothing)."""
        tmp = self._key("upload", secrets.token_hex(8))
        with open(source, "rb") as handle:
            while chunk := handle.read(self.CHUNK):
                self.redis.rpush(tmp, chunk)
        self.redis.rpush(tmp, b"")  # an empty file still needs a list to exist
        self.redis.pipeline().rename(tmp, key).expire(key, self.ttl).execute()

    def put_blob(self, sha: str, source: Path, dest: Path) -> None:
        key = self._key("blob", sha)
        if not self.redis.expire(key, self.ttl, gt=True) and not self.redis.exists(key):
            self._push(key, source)
        self.local.put_blob(sha, source, dest)

    def get_blob(self, sha: str, dest: Path) -> Path | None:
        key = self._key("blob", sha)
        if not self.redis.exists(key):
            return None
        self.redis.expire(key, self.ttl, gt=True)
        if dest.exists():
            return self.local.get_blob(sha, dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{sha}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                for i in range(self.redis.llen(key)):
                    handle.write(self.redis.lindex(key, i) or b"")
            if sha256_file(Path(tmp)) != sha:
                return None  # the key expired or was replaced while reading: treat as gone
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return dest

    def index_all(self, sid: str) -> dict[str, dict]:
        return {k.decode(): json.loads(v) for k, v in self.redis.hgetall(self._key("session", sid)).items()}

    def index_get(self, sid: str, artifact_id: str) -> dict | None:
        key = self._key("session", sid)
        raw = self.redis.hget(key, artifact_id)
        if raw is None:
            return None
        self.redis.expire(key, self.ttl, gt=True)
        return json.loads(raw)

    def index_set(self, sid: str, artifact_id: str, record: dict) -> None:
        key = self._key("session", sid)
        self.redis.pipeline().hset(key, artifact_id, json.dumps(record)).expire(key, self.ttl).execute()

    def grant(self, sid: str, digest: str) -> None:
        key = self._key("grants", sid)
        self.redis.pipeline().sadd(key, digest).expire(key, self.ttl).execute()

    def granted(self, sid: str, digest: str) -> bool:
        key = self._key("grants", sid)
        if not self.redis.sismember(key, digest):
            return False
        self.redis.expire(key, self.ttl, gt=True)
        return True

    def failures(self, key: str, now: float, window: float, *, add: bool, keep: int) -> list[float]:
        name = self._key("throttle", hashlib.sha256(key.encode()).hexdigest())
        pipe = self.redis.pipeline()
        if add:
            pipe.zadd(name, {f"{now}:{secrets.token_hex(4)}": now})
        pipe.zremrangebyscore(name, "-inf", now - window)
        if add:
            pipe.zremrangebyrank(name, 0, -keep - 1).expire(name, int(window) + 1)
        pipe.zrange(name, 0, -1, withscores=True)
        return [score for _member, score in pipe.execute()[-1]]

    def cache_get(self, digest: str) -> bytes | None:
        return self.redis.getex(self._key("cache", digest), ex=self.ttl)

    def cache_set(self, digest: str, data: bytes) -> None:
        self.redis.set(self._key("cache", digest), data, ex=self.ttl)

    def cache_delete(self, digest: str) -> None:
        self.redis.delete(self._key("cache", digest))

    def pin(self, sid: str, shas: list[str], seconds: float) -> None:
        pipe = self.redis.pipeline()
        for key in (self._key("session", sid), self._key("grants", sid), *(self._key("blob", s) for s in shas)):
            pipe.expire(key, int(seconds) + 1, gt=True)
        pipe.execute()
        self.local.pin(sid, shas, seconds)

    def sweep(self, now: float) -> dict[str, int]:
        return self.local.sweep(now)


def _read_times(path: Path) -> list[float]:
    try:
        return [float(t) for t in json.loads(path.read_text())]
    except (FileNotFoundError, ValueError, TypeError):
        return []


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write to a temporary file and rename: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if exclusive:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
