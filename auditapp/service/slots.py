"""A fair share of the machine: cross-process queues with a cap for the server and one per session.

Each kind of work (new audits, background jobs) has one queue shared by every process of the server:
all gunicorn workers, their audit helpers and job processes (files under the data directory) or,
with ``AUDITAPP_REDIS_URL``, every machine (Redis); see ``auditapp.service.slot_backends``.

A request takes a ticket and waits for a slot. Tickets start in arrival order while fewer than the
server's cap run, skipping a ticket whose session already runs its share, so one user's burst never
holds back another user's work. A waiting request learns its place ("2 audits ahead of yours"). A
session can cancel its requests; a ticket whose process died (killed, out of memory, its web request
abandoned and the process restarted) is dropped, so its slot is freed. Requests of one session for
the same work (several callbacks of one page asking for the same audit) share one ticket: the others
follow it and then read its result.

Caps (``AUDITAPP_*``; sane for a 2-core machine): ``MAX_AUDITS`` 2 and ``MAX_AUDITS_PER_SESSION`` 1;
``MAX_JOBS`` 2 and ``MAX_JOBS_PER_SESSION`` 1; ``MAX_WAITING`` 20 per queue (more are refused);
``JOB_QUEUE_WAIT`` 300 s of waiting at most.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.core.limits import positive_int
from auditapp.service.slot_backends import DiskQueueBackend, RedisQueueBackend

_MAX_CANCELS = 1000


class QueueFullError(LimitExceededError):
    """Too many requests are already waiting for a slot."""


class QueueTimeoutError(LimitExceededError):
    """A request waited longer than ``AUDITAPP_JOB_QUEUE_WAIT`` for a slot."""


class WorkCancelledError(AuditInputError):
    """The session cancelled this work, or its request was abandoned."""


@dataclass(frozen=True)
class Kind:
    """A kind of work with its own queue and caps."""

    name: str
    singular: str
    plural: str
    variable: str  # AUDITAPP_MAX_<...>; the per-session cap is <variable>_PER_SESSION

    def count(self, n: int) -> str:
        return f"{n:,} {self.singular if n == 1 else self.plural}"


AUDITS = Kind("audits", "audit", "audits", "AUDITAPP_MAX_AUDITS")
JOBS = Kind("jobs", "background job", "background jobs", "AUDITAPP_MAX_JOBS")


@dataclass(frozen=True)
class Caps:
    """How many run at once (server, session), how many may wait, and for how long."""

    total: int
    per_session: int
    max_waiting: int
    max_wait: float

    @classmethod
    def from_env(cls, kind: Kind, environ: Mapping[str, str]) -> Caps:
        """The caps ``environ`` sets for ``kind`` (``AUDITAPP_MAX_AUDITS`` …; an empty mapping gives the defaults)."""
        return cls(total=positive_int(kind.variable, environ=environ),
                   per_session=positive_int(f"{kind.variable}_PER_SESSION", environ=environ),
                   max_waiting=positive_int("AUDITAPP_MAX_WAITING", environ=environ),
                   max_wait=positive_int("AUDITAPP_JOB_QUEUE_WAIT", environ=environ))


@dataclass(frozen=True)
class Place:
    """Where a session's request stands: ``running``, or ``waiting`` with ``ahead`` requests before it."""

    state: str
    ahead: int
    running: int
    behind_own: bool  # waiting because this session already runs its share

    def message(self, kind: Kind, caps: Caps) -> str:
        if self.state == "running":
            return f"Your {kind.singular} is running."
        if self.behind_own:
            return (f"Your {kind.singular} waits for your other {kind.singular} to finish: this server runs "
                    f"{kind.count(caps.per_session)} at a time per session.")
        return (f"Your {kind.singular} is waiting for a free slot: {kind.count(self.ahead)} ahead of yours "
                f"(this server runs {caps.total} at a time).")


def schedule(tickets: dict[str, dict[str, Any]], *, total: int, per_session: int) -> list[str]:
    """The waiting tickets that may start now: oldest first, skipping sessions that run their share."""
    running = [t for t in tickets.values() if t["state"] == "running"]
    busy = Counter(t["owner"] for t in running)
    free = total - len(running)
    started = []
    for tid, ticket in sorted(((i, t) for i, t in tickets.items() if t["state"] == "waiting"),
                              key=lambda item: item[1]["seq"]):
        if free <= 0:
            break
        if busy[ticket["owner"]] >= per_session:
            continue
        started.append(tid)
        busy[ticket["owner"]] += 1
        free -= 1
    return started


def place_of(tickets: dict[str, dict[str, Any]], tid: str, *, per_session: int) -> Place:
    """Where ticket ``tid`` stands among ``tickets``."""
    me = tickets[tid]
    running = [t for t in tickets.values() if t["state"] == "running"]
    if me["state"] == "running":
        return Place("running", 0, len(running), False)
    earlier = sum(1 for t in tickets.values() if t["state"] == "waiting" and t["seq"] < me["seq"])
    own = sum(1 for t in running if t["owner"] == me["owner"])
    return Place("waiting", len(running) + earlier, len(running), own >= per_session)


def _who(session: str) -> str:
    """What the shared state records of a session: a hash, never the session id itself."""
    return hashlib.sha256(session.encode()).hexdigest()[:24]


@dataclass
class Slot:
    """A held slot (or, with ``followed``, the end of another request of this session for the same work)."""

    queue: FairQueue
    owner: str
    start: int
    followed: bool = False

    def cancelled(self) -> bool:
        """Whether the session cancelled its work since this request began."""
        return self.queue._read()["cancels"].get(self.owner, -1) > self.start


class FairQueue:
    """One kind of work's queue (see the module docstring).

    ``backend`` is a ``DiskQueueBackend`` or ``RedisQueueBackend``; ``poll`` is how often a waiting
    request looks again (seconds).
    """

    def __init__(self, kind: Kind, backend, caps: Caps, *, poll: float = 0.1):
        self.kind, self.backend, self.caps, self.poll = kind, backend, caps, poll

    @classmethod
    def for_server(cls, kind: Kind, data_dir: str | Path, redis_url: str | None = None, *,
                   caps: Caps | None = None, poll: float = 0.1) -> FairQueue:
        """The queue every process of this server shares (data directory, or Redis when configured)."""
        backend = (RedisQueueBackend(redis_url, kind.name) if redis_url
                   else DiskQueueBackend(Path(data_dir) / "queues" / kind.name))
        return cls(kind, backend, caps or Caps.from_env(kind, {}), poll=poll)

    # -- reading ----------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        return self.backend.read()

    def _current(self) -> dict[str, dict[str, Any]]:
        """The tickets now (those of dead processes dropped, what may start started)."""
        with self.backend.transaction() as state:
            self._step(state)
            return state["tickets"]

    def places(self, session: str) -> list[Place]:
        """Where each of this session's requests stands, oldest first."""
        tickets, owner = self._current(), _who(session)
        mine = sorted((t["seq"], tid) for tid, t in tickets.items() if t["owner"] == owner)
        return [place_of(tickets, tid, per_session=self.caps.per_session) for _, tid in mine]

    def counts(self) -> dict[str, int]:
        """How many requests run and wait now."""
        states = Counter(t["state"] for t in self._current().values())
        return {"running": states["running"], "waiting": states["waiting"]}

    # -- changing ---------------------------------------------------------------------------------
    def _step(self, state: dict[str, Any]) -> None:
        """Drop tickets whose process died, then start what may start."""
        tickets = state["tickets"]
        for tid in [t for t in tickets if not self.backend.alive(t)]:
            del tickets[tid]
        for tid in schedule(tickets, total=self.caps.total, per_session=self.caps.per_session):
            tickets[tid]["state"] = "running"

    def cancel(self, session: str) -> int:
        """Cancel every request this session has made so far; return how many were waiting or running."""
        owner = _who(session)
        with self.backend.transaction() as state:
            state["seq"] += 1
            state["cancels"][owner] = state["seq"]
            while len(state["cancels"]) > _MAX_CANCELS:
                oldest = min(state["cancels"], key=state["cancels"].get)
                del state["cancels"][oldest]
            return sum(1 for t in state["tickets"].values() if t["owner"] == owner)

    def _refuse_if_full(self, state: dict[str, Any]) -> None:
        waiting = sum(1 for t in state["tickets"].values() if t["state"] == "waiting")
        if waiting >= self.caps.max_waiting:
            raise QueueFullError(
                f"The server is busy: its queue is full ({self.kind.count(waiting)} waiting for a free slot; "
                f"AUDITAPP_MAX_WAITING is {self.caps.max_waiting}). Try again in a few minutes.")

    @contextlib.contextmanager
    def slot(self, session: str, *, key: str | None = None, on_wait: Callable[[Place], None] | None = None,
             abandoned: Callable[[], bool] | None = None) -> Iterator[Slot]:
        """Wait for a slot and hold it while the ``with`` block runs.

        ``key`` names the work: a request of the same session with the same key that is already
        queued or running is followed instead (the yielded slot has ``followed=True`` once it ends).
        ``on_wait(place)`` is told every change of place; ``abandoned()`` ends the wait early.

        Raises
        ------
        QueueFullError, QueueTimeoutError, WorkCancelledError
        """
        owner, tid = _who(session), uuid.uuid4().hex
        release = None
        leader = None
        with self.backend.transaction() as state:
            self._step(state)
            state["seq"] += 1
            start = state["seq"]
            if key is not None:
                leader = next((i for i, t in state["tickets"].items() if t["owner"] == owner and t["key"] == key),
                              None)
            if leader is None:
                self._refuse_if_full(state)
                release = self.backend.claim(tid)
                state["tickets"][tid] = {"owner": owner, "key": key, "seq": start, "state": "waiting"}
                self._step(state)
        try:
            followed = self._wait(owner, tid if leader is None else leader, start, leader is not None,
                                  on_wait, abandoned)
            yield Slot(self, owner, start, followed)
        finally:
            if release is not None:
                try:
                    with self.backend.transaction() as state:
                        state["tickets"].pop(tid, None)
                        self._step(state)
                finally:  # even when the state could not be written (e.g. its lock timed out): the claim
                    release()  # ends here, so the ticket lapses and its slot is freed, instead of being renewed

    def _wait(self, owner: str, tid: str, start: int, following: bool,
              on_wait: Callable[[Place], None] | None, abandoned: Callable[[], bool] | None) -> bool:
        deadline = time.monotonic() + self.caps.max_wait
        last = None
        while True:
            with self.backend.transaction() as state:
                self._step(state)
                if state["cancels"].get(owner, -1) > start:
                    raise WorkCancelledError(f"Your {self.kind.singular} was cancelled before it finished; nothing "
                                             "was kept. Start it again when you need it.")
                ticket = state["tickets"].get(tid)
                if following and ticket is None:
                    return True
                if ticket is None:  # only a claim that lapsed (a Redis heartbeat missed for 15 s) gets here
                    raise QueueTimeoutError(f"Your {self.kind.singular} lost its place in the queue. Try again.")
                if ticket["state"] == "running" and not following:
                    return False
                place = place_of(state["tickets"], tid, per_session=self.caps.per_session)
            if abandoned is not None and abandoned():
                raise WorkCancelledError(f"The request for this {self.kind.singular} was abandoned.")
            if time.monotonic() > deadline:
                raise QueueTimeoutError(
                    f"Your {self.kind.singular} waited {self.caps.max_wait:,.0f} seconds for a free slot and was "
                    f"given up. Try again in a few minutes; the operator can raise {self.kind.variable} or "
                    "AUDITAPP_JOB_QUEUE_WAIT.")
            if on_wait is not None and place != last:
                on_wait(place)
                last = place
            time.sleep(self.poll)
