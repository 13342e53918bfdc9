"""The fair queue across real processes, on both backends (a data directory; a real redis-server)."""

from __future__ import annotations

import json
import os
import queue as queue_module
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from auditapp.service.slot_backends import DiskQueueBackend, RedisQueueBackend
from auditapp.service.slots import (
    AUDITS,
    Caps,
    FairQueue,
    QueueFullError,
    QueueTimeoutError,
    WorkCancelledError,
    schedule,
)
from tests.facts import says
from tests.scaleout.services import redis_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["disk", "redis"])
def where(request, tmp_path, redis_url):
    if request.param == "redis":
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        return {"redis": redis_url, "ttl": 1.5}
    return {"root": str(tmp_path / "queue")}


def make_queue(where, name="audits", **caps) -> FairQueue:
    backend = (RedisQueueBackend(where["redis"], name, ttl=where["ttl"]) if "redis" in where
               else DiskQueueBackend(Path(where["root"]) / name))
    full = {"total": 2, "per_session": 1, "max_waiting": 20, "max_wait": 120.0, **caps}
    return FairQueue(AUDITS, backend, Caps(**full), poll=0.05)


class Holder:
    """A process holding (or waiting for) a slot; its printed events arrive on a queue."""

    def __init__(self, where, session, **options):
        args = {**where, "session": session, "total": 2, "per_session": 1, **options}
        if "root" in args:
            args["root"] = str(Path(args["root"]) / "audits")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fairshare.holder", json.dumps(args)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.events: queue_module.Queue[str] = queue_module.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.events.put(line.strip())

    def expect(self, prefix: str, timeout: float = 30) -> str:
        """The next event starting with ``prefix`` (events before it are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue_module.Empty:
                raise AssertionError(f"no '{prefix}' event within {timeout} s") from None
            if event.startswith(prefix):
                return event

    def release(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=30) == 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.reader.join(timeout=30)
        self.proc.stdin.close()
        self.proc.stdout.close()


@pytest.fixture
def holders():
    started: list[Holder] = []

    def start(where, session, **options) -> Holder:
        started.append(Holder(where, session, **options))
        return started[-1]

    yield start
    for holder in started:
        holder.stop()


def _ticket(owner, seq, state="waiting"):
    return {"owner": owner, "key": None, "seq": seq, "state": state}


def test_schedule_starts_oldest_first_and_skips_sessions_at_their_share():
    tickets = {"a1": _ticket("s1", 1), "a2": _ticket("s1", 2), "b1": _ticket("s2", 3), "c1": _ticket("s3", 4)}
    assert schedule(tickets, total=2, per_session=1) == ["a1", "b1"]
    assert schedule(tickets, total=4, per_session=2) == ["a1", "a2", "b1", "c1"]
    tickets["a1"]["state"] = "running"
    assert schedule(tickets, total=2, per_session=1) == ["b1"]
    assert schedule(tickets, total=1, per_session=1) == []


def test_caps_hold_across_processes_and_a_killed_holder_frees_its_slot(where, holders):
    queue = make_queue(where)
    a1 = holders(where, "s1")
    a1.expect("running")
    a2 = holders(where, "s1")
    assert a2.expect("waiting") == "waiting 1 1"  # behind its own session's running audit
    b1 = holders(where, "s2")
    b1.expect("running")  # another session is not held back by s1's second audit
    c1 = holders(where, "s3")
    assert c1.expect("waiting") == "waiting 3 0"  # two running, one waiting before it
    assert queue.counts() == {"running": 2, "waiting": 2}
    places = queue.places("s3")
    assert [p.message(AUDITS, queue.caps) for p in places] == [
        "Your audit is waiting for a free slot: 3 audits ahead of yours (this server runs 2 at a time)."]
    a1.proc.kill()  # dies without releasing: the kernel drops its lock (disk) or its claim expires (Redis)
    a2.expect("running", timeout=10)
    assert c1.expect("waiting") == "waiting 2 0"
    b1.release()
    c1.expect("running")
    assert queue.counts() == {"running": 2, "waiting": 0}


def test_a_session_cancels_its_waiting_and_running_work(where, holders):
    queue = make_queue(where, total=1)
    held, release = threading.Event(), threading.Event()
    seen = {}

    def hold():
        with queue.slot("s1") as slot:
            held.set()
            release.wait(30)
            seen["cancelled"] = slot.cancelled()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30)
    waiting = holders(where, "s1", total=1)
    waiting.expect("waiting")
    other = holders(where, "s2", total=1)
    other.expect("waiting")
    assert queue.cancel("s1") == 2
    says(waiting.expect("error"), "error WorkCancelledError:", "cancelled before it finished", "nothing was kept",
         "Start it again")
    release.set()
    thread.join(30)
    assert seen["cancelled"] is True
    other.expect("running")  # the freed slot goes to the next session
    other.release()
    with queue.slot("s1") as slot:  # a new request after the cancel runs
        assert not slot.cancelled()


def test_a_full_queue_refuses_at_once_and_a_long_wait_gives_up(where, holders):
    queue = make_queue(where, total=1, max_waiting=1, max_wait=0.5)
    with queue.slot("s1"):
        waiting = holders(where, "s2", total=1, max_waiting=1)
        waiting.expect("waiting")
        with pytest.raises(QueueFullError, match=r"The server is busy: its queue is full \(1 audit waiting for a "
                                                 r"free slot; AUDITAPP_MAX_WAITING is 1\)\. Try again"):
            with queue.slot("s3"):
                pass
        waiting.stop()
    queue = make_queue(where, "other", total=1, max_wait=0.5)
    with queue.slot("s1"):
        with pytest.raises(QueueTimeoutError, match="waited 0 seconds for a free slot and was given up"):
            with queue.slot("s2"):
                pass
    assert queue.counts() == {"running": 0, "waiting": 0}


def test_requests_of_one_session_for_the_same_work_share_one_slot(where, holders):
    queue = make_queue(where, total=1)
    leader = holders(where, "s1", key="audit-1", total=1)
    leader.expect("running")
    follower = holders(where, "s1", key="audit-1", total=1)
    follower.expect("waiting")
    assert queue.counts() == {"running": 1, "waiting": 0}  # no second ticket
    other = holders(where, "s2", key="audit-1", total=1)  # another session takes its own place
    other.expect("waiting")
    leader.release()
    follower.expect("followed")
    other.expect("running")
    other.release()


def test_abandoned_waiting_gives_up_its_place(where):
    queue = make_queue(where, total=1)
    gone = threading.Event()
    with queue.slot("s1"):
        thread_error = {}

        def wait():
            try:
                with queue.slot("s2", abandoned=gone.is_set):
                    pass
            except WorkCancelledError as exc:
                thread_error["message"] = str(exc)

        thread = threading.Thread(target=wait)
        thread.start()
        deadline = time.monotonic() + 10
        while queue.counts()["waiting"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        gone.set()
        thread.join(10)
        assert thread_error["message"] == "The request for this audit was abandoned."
        assert queue.counts() == {"running": 1, "waiting": 0}


def test_a_slot_whose_release_fails_still_frees_it_when_its_claim_lapses(where):
    """Leaving a slot writes the shared state under a lock; when that fails (the lock timed out on a loaded
    machine), the claim must still end, or it would be renewed for as long as the process lives and the
    slot never freed."""
    queue = make_queue(where, total=1)
    real = queue.backend.transaction
    broken = threading.Event()

    def transaction():
        if broken.is_set():
            raise RuntimeError("the queue's lock could not be taken")
        return real()

    queue.backend.transaction = transaction
    with pytest.raises(RuntimeError, match="lock could not be taken"), queue.slot("s1"):
        assert queue.counts() == {"running": 1, "waiting": 0}
        broken.set()
    queue.backend.transaction = real
    # The ticket is still written down, but nobody keeps it alive: the next request gets the slot.
    other = make_queue(where, total=1, max_wait=10.0)  # (a claim still renewed: "waited 10 seconds")
    with other.slot("s2"):
        assert other.counts() == {"running": 1, "waiting": 0}


def test_a_process_forked_by_a_holder_does_not_keep_its_slot(tmp_path, holders):
    where = {"root": str(tmp_path / "queue")}
    holder = holders(where, "s1", total=1, fork=True)
    holder.expect("running")
    child = int(holder.expect("forked").split()[1])
    waiting = holders(where, "s2", total=1)
    waiting.expect("waiting")
    holder.proc.kill()  # the web process dies; the job process it forked lives on
    try:
        waiting.expect("running", timeout=10)
        assert os.kill(child, 0) is None  # still alive, yet the slot was freed
    finally:
        os.kill(child, signal.SIGKILL)
