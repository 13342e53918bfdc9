"""Where the fair queues (``auditapp.service.slots``) keep their state: files under the data directory, or Redis.

A backend offers four things: a transaction over the queue's state (a small JSON dict) that excludes
every other process, a read of that state, a claim on a ticket that lasts exactly as long as the
process holding it, and a check of whether a ticket's claim is still held.

- Disk (one machine: gunicorn workers, their helpers and job processes sharing the data directory):
  the transaction is an ``flock`` on ``.mutex``; a claim is an ``flock`` held on ``live/<ticket>``,
  which the kernel releases when the holder dies, however it dies.
- Redis (a team): the transaction is a Redis lock; a claim is a key with a 15 s expiry that a
  thread of the holder renews every 5 s.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Descriptors this process holds locks through. A child forked while they are open (Dash forks a
# process per background job) would inherit them and keep the locks after this process ends, so the
# child closes its copies at once (``os.register_at_fork``); the locks stay with this process.
_HELD: set[int] = set()
_HOOKED: list[bool] = []
# One thread lock per (process, mutex file): a child forked while a thread held one gets a fresh lock.
_THREAD_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_GUARD = threading.Lock()


def _close_held_in_child() -> None:
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()
    _GUARD.release()  # taken before the fork (so no other thread held it mid-change)


def _open_held(path: Path, flags: int) -> int:
    """Open ``path`` and register the descriptor, with no fork in between (forks wait for the guard)."""
    with _GUARD:
        if not _HOOKED:
            os.register_at_fork(before=_GUARD.acquire, after_in_parent=_GUARD.release,
                                after_in_child=_close_held_in_child)
            _HOOKED.append(True)
        fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
        _HELD.add(fd)
        return fd


def _let_go(fd: int) -> None:
    with _GUARD:
        _HELD.discard(fd)
        with contextlib.suppress(OSError):
            os.close(fd)


def empty_state() -> dict[str, Any]:
    return {"seq": 0, "tickets": {}, "cancels": {}}


class DiskQueueBackend:
    """A queue's state in ``root/state.json``, guarded by ``flock`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        (self.root / "live").mkdir(parents=True, exist_ok=True)
        self._mutex = self.root / ".mutex"
        self._state = self.root / "state.json"

    def _thread_lock(self) -> threading.Lock:
        with _GUARD:
            return _THREAD_LOCKS.setdefault((os.getpid(), str(self._mutex)), threading.Lock())

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self._state.read_text())
        except FileNotFoundError:
            return empty_state()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        with self._thread_lock():
            fd = _open_held(self._mutex, os.O_CREAT | os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                state = self.read()
                before = json.dumps(state, sort_keys=True)
                yield state
                after = json.dumps(state, sort_keys=True)
                if after != before:
                    handle, tmp = tempfile.mkstemp(dir=self.root, prefix=".state-")
                    with os.fdopen(handle, "w") as out:
                        out.write(after)
                    os.replace(tmp, self._state)
            finally:
                _let_go(fd)

    def claim(self, ticket: str) -> Callable[[], None]:
        path = self.root / "live" / ticket
        fd = _open_held(path, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

        def release() -> None:
            path.unlink(missing_ok=True)
            _let_go(fd)

        return release

    def alive(self, ticket: str) -> bool:
        """Whether some process still holds the claim (call inside a transaction)."""
        path = self.root / "live" / ticket
        try:
            fd = _open_held(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            path.unlink(missing_ok=True)  # its holder died: nobody will ever take it again
            return False
        finally:
            _let_go(fd)


class RedisQueueBackend:
    """A queue's state in one Redis key, guarded by a Redis lock; claims are expiring keys."""

    def __init__(self, url: str, name: str, prefix: str = "auditapp:queue:", *, ttl: float = 15.0):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.ttl, self.renew = ttl, ttl / 3
        self._state = f"{prefix}{name}"
        self._lock = f"{prefix}{name}:mutex"
        self._live = f"{prefix}{name}:live:"

    def read(self) -> dict[str, Any]:
        raw: Any = self.redis.get(self._state)
        return json.loads(raw) if raw else empty_state()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        with self.redis.lock(self._lock, timeout=10, blocking_timeout=30, thread_local=False):
            state = self.read()
            before = json.dumps(state, sort_keys=True)
            yield state
            after = json.dumps(state, sort_keys=True)
            if after != before:
                self.redis.set(self._state, after)

    def claim(self, ticket: str) -> Callable[[], None]:
        key = self._live + ticket
        milliseconds = int(self.ttl * 1000)
        self.redis.set(key, os.getpid(), px=milliseconds)
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.renew):
                self.redis.set(key, os.getpid(), px=milliseconds)

        thread = threading.Thread(target=renew, name="auditapp-queue-claim", daemon=True)
        thread.start()

        def release() -> None:
            done.set()
            thread.join()
            self.redis.delete(key)

        return release

    def alive(self, ticket: str) -> bool:
        return bool(self.redis.exists(self._live + ticket))
