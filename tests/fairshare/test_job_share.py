"""Finding 5: background jobs are capped (server and session), queued with their place shown, and stopped
when cancelled or abandoned. Real jobs in real processes through the embedded (diskcache) manager."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from auditapp.core.spec import AuditSpec
from auditapp.service import jobs
from auditapp.service.config import Settings
from auditapp.service.slots import JOBS, FairQueue
from callbacks import context, managers
from layouts import ids
from tests.facts import says
from tests.heavy_audit import HEAVY_FEATURES, heavy_frame
from tests.waiting import wait_for


def audit_job(token, state):
    """A background callback body: the real audit for a browser state, as plain numbers."""
    return jobs.audit_summary(token, state, context.settings())  # the settings this process was started with


@pytest.fixture
def abandon_after():
    """Seconds after which a job whose page stopped asking for it is stopped (the default here)."""
    return Settings(data_dir="unused").job_abandon_after


@pytest.fixture
def setup(tmp_path, monkeypatch, abandon_after):
    settings = Settings(data_dir=str(tmp_path / "data"), job_abandon_after=abandon_after)
    previous = (context._settings, context._store)
    jobs._store.cache_clear()
    store = context.configure(settings)
    manager = managers.background_manager(settings)
    queue = FairQueue.for_server(JOBS, tmp_path / "data")
    data = heavy_frame().to_csv(index=False).encode()
    started = []

    def start(token, *, heavy=True):  # the heavy audit (half a minute of one core, unless stopped) or a quick one
        info = store.put(token, data, kind="dataset", name="d.csv")
        spec = AuditSpec(target="y", sensitive=HEAVY_FEATURES if heavy else HEAVY_FEATURES[:1], score="score",
                         threshold=0.5)
        key = f"job-{len(started)}"
        job_fn = manager.make_job_fn(audit_job, False, key)
        job = manager.call_job_fn(key, job_fn, [token, {"dataset": info.id, "model": None, "spec": spec.to_dict()}],
                                  {"inputs_list": [], "states_list": []})
        started.append(job)
        return key, job

    yield store, manager, queue, start
    for job in started:
        manager.terminate_job(job)
    jobs._store.cache_clear()
    context._settings, context._store = previous



def _notice(manager, key) -> str:
    """The job notice a waiting job last sent to its page (relayed by Dash with the next poll)."""
    update = manager.handle.get(f"{key}-set_props") or {}
    alert = update.get(ids.QUEUE_JOB_NOTICE, {}).get("children")
    return "" if alert is None else str(alert.children)


def _gone(pid) -> bool:
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_seven_jobs_run_two_at_a_time_and_the_rest_see_their_place(setup):
    store, manager, queue, start = setup
    started = [start(store.new_session()) for _ in range(7)]
    wait_for(lambda: queue.counts() == {"running": 2, "waiting": 5}, what="two jobs running, five waiting")
    waiting = [(key, job) for key, job in started if "waiting" in _notice(manager, key)]
    wait_for(lambda: sum("waiting" in _notice(manager, k) for k, _ in started) == 5, what="five notices")
    notices = sorted(_notice(manager, key) for key, _ in started if _notice(manager, key))
    says(notices[0], "waiting for a free slot", "2 background jobs ahead of yours", "runs 2 at a time",
         "Stop button gives up its place")
    assert notices[-1].startswith("Your background job is waiting for a free slot: 6 background jobs ahead")
    running = [job for key, job in started if not _notice(manager, key)]
    assert all(os.getpriority(os.PRIO_PROCESS, int(job)) >= 10 for job in running)  # below interactive requests

    # cancelling a running job (its page's Stop button) frees its slot for the next in line
    first_waiting = min(waiting, key=lambda item: int(item[0].split("-")[1]))
    manager.terminate_job(running[0])
    wait_for(lambda: _gone(running[0]), timeout=10, what="the cancelled job's process ending")
    wait_for(lambda: "waiting" not in _notice(manager, first_waiting[0]) and queue.counts()["running"] == 2,
              timeout=10, what="the next job starting")
    assert queue.counts() == {"running": 2, "waiting": 4}
    manager.terminate_job(waiting[-1][1])  # a waiting one gives up its place
    wait_for(lambda: queue.counts() == {"running": 2, "waiting": 3}, timeout=10, what="the queue shrinking")


def test_one_session_runs_one_job_at_a_time(setup):
    store, manager, queue, start = setup
    token = store.new_session()
    first_key, first = start(token)
    wait_for(lambda: queue.counts()["running"] == 1, what="the first job starting")
    second_key, second = start(token, heavy=False)
    other_key, other = start(store.new_session(), heavy=False)
    wait_for(lambda: "waits for your other background job" in _notice(manager, second_key),
              what="the second job's notice")
    assert _notice(manager, second_key) == (
        "Your background job waits for your other background job to finish: this server runs 1 background job "
        "at a time per session. Its page's Stop button gives up its place.")
    wait_for(lambda: manager.get_result(other_key, other) is not manager.UNDEFINED, what="another session's job")
    manager.terminate_job(first)
    wait_for(lambda: manager.get_result(second_key, second) is not manager.UNDEFINED, what="the second job")


@pytest.mark.parametrize("abandon_after", [2])
def test_a_job_whose_page_stops_asking_for_it_is_stopped(setup):
    store, manager, queue, start = setup
    key, job = start(store.new_session())
    wait_for(lambda: queue.counts()["running"] == 1, what="the job starting")
    polling_until = time.monotonic() + 4
    while time.monotonic() < polling_until:  # the page polls, as a browser does: the job keeps running
        assert manager.get_result(key, job) is manager.UNDEFINED
        time.sleep(0.2)
    assert not _gone(job)
    stopped_polling = time.monotonic()  # the tab is closed
    wait_for(lambda: _gone(job), timeout=10, what="the abandoned job stopping")
    assert time.monotonic() - stopped_polling < 2 + 0.5 + 3
    wait_for(lambda: queue.counts() == {"running": 0, "waiting": 0}, timeout=5, what="its slot freed")
