"""The embedded job manager (diskcache, subprocesses): real audit jobs, pins, time limits, killed jobs."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.limits import RuntimeLimits
from auditapp.service import jobs
from auditapp.service.config import Settings
from callbacks import context, managers
from tests.scaleout import flow


def audit_job(token, state):
    """A background callback body: the real audit for a browser state, as plain numbers."""
    return jobs.audit_summary(token, state, context.settings())  # the settings this process was started with


@pytest.fixture
def setup(tmp_path, monkeypatch):
    # flow.slow_dataset has thousands of intersections
    settings = Settings(data_dir=str(tmp_path / "data"), limits=RuntimeLimits(max_intersections=100_000))
    previous = (context._settings, context._store)
    jobs._store.cache_clear()
    store = context.configure(settings)
    token = store.new_session()
    frame = flow.dataset()
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="d.csv")
    manager = managers.background_manager(settings)
    yield store, token, frame, info, manager
    jobs._store.cache_clear()
    context._settings, context._store = previous


def _run(manager, key, token, state):
    job_fn = manager.make_job_fn(audit_job, False, key)
    job = manager.call_job_fn(key, job_fn, [token, state], {"inputs_list": [], "states_list": []})
    return job


def _wait(manager, key, job, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = manager.get_result(key, job)
        if result is not manager.UNDEFINED:
            return result
        time.sleep(0.1)
    raise AssertionError("the job never finished")


def _computing(job, seconds: float = 1.0, timeout: float = 60) -> None:
    """Wait until the job's process has computed for ``seconds`` of CPU time (it is well into its audit)."""
    process = psutil.Process(int(job))
    deadline = time.monotonic() + timeout
    while sum(process.cpu_times()[:2]) < seconds:
        assert time.monotonic() < deadline, "the job never started computing"
        time.sleep(0.05)


def test_a_job_computes_the_real_audit(setup):
    store, token, frame, info, manager = setup
    job = _run(manager, "k1", token, flow.state(info.id))
    result = _wait(manager, "k1", job)
    assert result["rows"] == len(frame)
    assert result["selection_rate"] == pytest.approx(flow.expected_selection_rates(frame))


def test_a_killed_job_is_reported_failed_and_can_run_again(setup):
    store, token, frame, info, manager = setup
    big = store.put(token, flow.slow_dataset().to_csv(index=False).encode(), kind="dataset", name="slow.csv")
    job = _run(manager, "k2", token, flow.slow_state(big.id))
    _computing(job)
    assert manager.get_result("k2", job) is manager.UNDEFINED  # still running
    os.kill(int(job), signal.SIGKILL)
    result = _wait(manager, "k2", job)
    assert result == {"background_callback_error": {"msg": jobs.JOB_LOST, "tb": ""}}
    assert jobs.failure_message(RuntimeError(f"An error occurred inside a background callback: {result}")) \
        == jobs.JOB_LOST
    assert store.path(token, info.id).read_bytes() == frame.to_csv(index=False).encode()  # not corrupted
    rerun = _wait(manager, "k2", _run(manager, "k2", token, flow.state(info.id)))
    assert rerun["selection_rate"] == pytest.approx(flow.expected_selection_rates(frame))


def test_a_cancelled_job_is_not_reported_as_failed(setup):
    store, token, frame, info, manager = setup
    big = store.put(token, flow.slow_dataset().to_csv(index=False).encode(), kind="dataset", name="slow.csv")
    job = _run(manager, "k3", token, flow.slow_state(big.id))
    _computing(job)
    manager.terminate_job(job)
    assert manager.get_result("k3", job) is manager.UNDEFINED


def test_a_running_job_pins_what_it_reads(setup, tmp_path):
    store, token, frame, info, manager = setup
    blob = store.blob_path(info.sha256)
    long_ago = time.time() - store.ttl - 60
    with jobs.job_guard(token, [info.id], settings=context.settings(), seconds=30):
        os.utime(blob, (long_ago, long_ago))  # unused for longer than the TTL, but in use by this job
        assert store.sweep()["blobs"] == 0
        assert store.path(token, info.id).exists()
    os.utime(blob, (long_ago, long_ago))
    pin = tmp_path / "data" / "pins" / f"blob-{info.sha256}"
    pin.write_text(repr(time.time() - 1))  # the job ended and its lease ran out
    assert store.sweep()["blobs"] == 1


def test_time_limit_stops_a_job_with_a_clear_message():
    with pytest.raises(AuditInputError, match="ran longer than this server's limit of 1 seconds") as caught:
        with jobs.time_limit(1):
            time.sleep(3)
    assert jobs.failure_message(caught.value).startswith("The job ran longer than this server's limit of 1 seconds")


def test_job_time_limit_setting_is_validated(monkeypatch):
    monkeypatch.setenv("AUDITAPP_JOB_TIME_LIMIT", "ten minutes")
    with pytest.raises(AuditInputError, match="AUDITAPP_JOB_TIME_LIMIT must be a positive whole number"):
        Settings.from_env()
