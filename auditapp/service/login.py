"""Login that costs once: one password check per login, then a signed, expiring session cookie.

A password check runs PBKDF2 (200,000 iterations, ~90 ms of CPU). It runs once per login; after it the
browser holds a signed cookie that is checked with one HMAC. Basic authentication (CLI-style clients)
is remembered per credential for a few minutes, so a client that sends it with every request does not
pay for it every time. Unknown user names cost the same check as known ones (a dummy hash with the
same iteration count), so timing does not tell which names exist. Failed checks are throttled per
client address and per user name: past the limit the answer is HTTP 429 with ``Retry-After``, before
any PBKDF2 runs, and at most one check runs at a time per process, so a flood of wrong passwords
cannot take the CPU from logged-in users.

Nothing here imports Flask: :mod:`auditapp.service.auth` wires it into the web server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

ITERATIONS = 200_000
COOKIE = "auditapp_login"
SESSION_SECONDS = 12 * 3600
REMEMBER_SECONDS = 600  # how long a basic-auth credential is remembered after one successful check
CLIENT_LIMIT, CLIENT_WINDOW = 10, 300  # failed checks per client address per window (seconds)
USER_LIMIT, USER_WINDOW = 30, 900  # failed checks per user name per window
BUSY_WAIT = 5.0  # seconds a check may wait for the one running before the answer is "busy"


def pbkdf2(password: str, salt: str, iterations: int) -> str:
    """The hex PBKDF2-HMAC-SHA256 digest (the one expensive step of a password check)."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()


def hash_password(password: str, *, salt: str | None = None, iterations: int = ITERATIONS) -> str:
    """A ``pbkdf2:<iterations>:<salt>:<hex>`` string for a users file."""
    salt = salt or secrets.token_hex(16)
    return f"pbkdf2:{iterations}:{salt}:{pbkdf2(password, salt, iterations)}"


def _parse(stored: str) -> tuple[int, str, str] | None:
    try:
        kind, iterations, salt, digest = stored.split(":")
        count = int(iterations)
    except ValueError:
        return None
    return (count, salt, digest) if kind == "pbkdf2" and count > 0 else None


def _parsed(stored: str) -> tuple[int, str, str]:
    """The iterations, salt and digest of a PBKDF2 hash (every stored hash is one: :func:`_usable`)."""
    parsed = _parse(stored)
    if parsed is None:
        raise ValueError("not a PBKDF2 password hash")
    return parsed


def _usable(stored: str) -> str:
    """A stored password as a PBKDF2 hash: plain text is hashed once; a broken hash never matches."""
    if _parse(stored):
        return stored
    if stored.startswith("pbkdf2:"):
        return hash_password(secrets.token_hex(16))  # malformed: costs the same, never matches
    return hash_password(stored)


class Throttle:
    """Failures per key in a sliding window; a key with ``limit`` failures waits for the oldest to age out.

    ``shared(key, window=..., add=..., keep=...)`` (the artifact store's ``recent_failures``) keeps the
    failures where every web process sees them; without it they are counted in this process.
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.time,
                 shared: Callable[..., list[float]] | None = None, max_keys: int = 20_000):
        self.limit, self.window, self.clock, self.shared, self.max_keys = limit, window, clock, shared, max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _times(self, key: str, *, add: bool) -> list[float]:
        if self.shared is not None:
            return sorted(self.shared(key, window=self.window, add=add, keep=self.limit))
        now = self.clock()
        with self._lock:
            times = self._failures.get(key)
            if times is None and not add:
                return []
            if times is None:
                times = self._failures[key] = deque(maxlen=self.limit)
            while times and times[0] <= now - self.window:
                times.popleft()
            if add:
                times.append(now)
                self._failures.move_to_end(key)
                while len(self._failures) > self.max_keys:  # forget the least recently failing keys
                    self._failures.popitem(last=False)
            return list(times)

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may try now)."""
        times = self._times(key, add=False)
        if len(times) < self.limit:
            return 0.0
        return max(times[-self.limit] + self.window - self.clock(), 0.001)

    def fail(self, key: str) -> None:
        """Record a failure of ``key``."""
        self._times(key, add=True)


@dataclass(frozen=True)
class Outcome:
    """The user name when the check passed; ``retry_after`` seconds when it was refused unchecked."""

    user: str | None
    retry_after: float = 0.0


class Login:
    """Users, their password checks, remembered credentials, throttles and session cookies.

    Parameters
    ----------
    users : dict
        User name → stored password (``pbkdf2:...`` or plain text, which is hashed here once).
    secret : bytes
        Signs session cookies; every web process of a deployment must share it.
    session_seconds : int
        How long a session cookie is valid.
    clock : callable
        Wall-clock seconds (for cookie expiry); remembered credentials use a monotonic clock.
    failures : callable, optional
        Where failed checks are counted so that every web process sees them (see :class:`Throttle`).
    """

    def __init__(self, users: dict[str, str], *, secret: bytes, session_seconds: int = SESSION_SECONDS,
                 clock: Callable[[], float] = time.time, failures: Callable[..., list[float]] | None = None):
        self._hashes = {user: _usable(stored) for user, stored in users.items()}
        # What the operator configured (not the per-process hash of a plain password): every web process
        # signs the same cookie for the same user, and a changed password ends that user's sessions.
        self._fingerprints = {user: hashlib.sha256(stored.encode()).hexdigest() for user, stored in users.items()}
        common = Counter(_parsed(h)[0] for h in self._hashes.values()).most_common(1)
        self._dummy = hash_password(secrets.token_hex(16), iterations=common[0][0] if common else ITERATIONS)
        self._cookie_key = hmac.new(secret, b"auditapp login cookie", hashlib.sha256).digest()
        self._memory_key = secrets.token_bytes(32)
        self._remembered: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._checking = threading.BoundedSemaphore(1)
        self.session_seconds, self.clock = session_seconds, clock
        self.by_client = Throttle(CLIENT_LIMIT, CLIENT_WINDOW, shared=failures)
        self.by_user = Throttle(USER_LIMIT, USER_WINDOW, shared=failures)

    def __bool__(self) -> bool:
        return bool(self._hashes)

    # -- password checks ------------------------------------------------------------------------
    def verify(self, user: str, password: str) -> bool:
        """Whether ``password`` is ``user``'s; the same PBKDF2 work whether or not the user exists."""
        stored = self._hashes.get(user)
        iterations, salt, digest = _parsed(stored or self._dummy)
        ok = hmac.compare_digest(pbkdf2(password, salt, iterations), digest)
        return ok and stored is not None

    def check(self, user: str, password: str, client: str) -> Outcome:
        """Check a password from ``client`` (its address), throttled; remembered for a while when right."""
        memo = hmac.new(self._memory_key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            hit = self._remembered.get(memo)
            if hit is not None and hit[1] > now:
                return Outcome(hit[0])
        keys = (f"client:{client}", f"user:{user}")
        wait = self._wait(keys)
        if wait:
            return Outcome(None, wait)
        if not self._checking.acquire(timeout=BUSY_WAIT):
            return Outcome(None, BUSY_WAIT)
        try:
            wait = self._wait(keys)  # again: other checks may have failed while this one waited its turn
            if wait:
                return Outcome(None, wait)
            ok = self.verify(user, password)
            if not ok:
                self.by_client.fail(keys[0])
                self.by_user.fail(keys[1])
        finally:
            self._checking.release()
        if not ok:
            return Outcome(None)
        with self._lock:
            self._remembered[memo] = (user, now + min(REMEMBER_SECONDS, self.session_seconds))
            self._remembered.move_to_end(memo)
            while len(self._remembered) > 1024:
                self._remembered.popitem(last=False)
        return Outcome(user)

    def _wait(self, keys: tuple[str, str]) -> float:
        return max(self.by_client.retry_after(keys[0]), self.by_user.retry_after(keys[1]))

    def check_basic(self, header: str | None, client: str) -> Outcome:
        """Check an ``Authorization: Basic ...`` header (no credentials: ``Outcome(None)``, unthrottled)."""
        if not header or not header.startswith("Basic "):
            return Outcome(None)
        try:
            user, sep, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return Outcome(None)
        if not sep:
            return Outcome(None)
        return self.check(user, password, client)

    # -- session cookies --------------------------------------------------------------------------
    def _signature(self, user: str, expires: int) -> str:
        message = f"{user}\n{expires}\n{self._fingerprints[user]}".encode()
        return hmac.new(self._cookie_key, message, hashlib.sha256).hexdigest()

    def issue(self, user: str) -> str:
        """A cookie value naming ``user`` until ``session_seconds`` from now."""
        expires = int(self.clock()) + self.session_seconds
        name = base64.urlsafe_b64encode(user.encode()).decode().rstrip("=")
        return f"{name}.{expires}.{self._signature(user, expires)}"

    def cookie_user(self, value: str | None) -> str | None:
        """The user a valid, unexpired cookie names, else None (one HMAC, no PBKDF2)."""
        if not value or value.count(".") != 2 or len(value) > 1024:
            return None
        name, expires, signature = value.split(".")
        try:
            user = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
            until = int(expires)
        except (ValueError, UnicodeDecodeError):
            return None
        if user not in self._hashes or until < self.clock():
            return None
        return user if hmac.compare_digest(signature, self._signature(user, until)) else None
