"""The same user flow on the embedded default and on the team deployment, with real processes.

Team: redis-server + a Celery worker (``celery -A celery_app worker``) + gunicorn (2 workers), each with
its own data directory, as on separate machines; they share only Redis. Embedded: ``auditapp serve``.
Flow: upload → group metrics → threshold move → the Explanations page's background job → its result
shown by another request (so computed in one process and read in another).
"""

from __future__ import annotations

import gc
import os
import sys
import time

import psutil
import pytest

from auditapp.service.config import Settings
from bench.load import DashClient
from tests.scaleout import flow
from tests.scaleout.services import celery_worker, free_port, redis_server, start, stop, wait_http

pytestmark = pytest.mark.slow
HIRING = {"dataset": "builtin:hiring", "model": "builtin:hiring-model", "scenario": "hiring",
          "spec": {"target": "hired", "favorable": 1, "sensitive": ["sex", "ethnicity"], "n_boot": 100}}


@pytest.fixture(scope="module", params=["embedded", "team"])
def stack(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    env = dict(os.environ, AUDITAPP_DEMO="hiring", AUDITAPP_TRUST_PICKLE="0", AUDITAPP_SECRET="",
               OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("AUDITAPP_SECRET")
    port = free_port()
    procs = []
    try:
        if request.param == "embedded":
            env.update(AUDITAPP_DATA_DIR=str(tmp / "data"), AUDITAPP_REDIS_URL="")
            procs.append(start([sys.executable, "-m", "auditapp.cli", "serve", "--port", str(port)], env,
                               tmp / "web.log"))
            wait_http(f"http://127.0.0.1:{port}/", procs[-1], tmp / "web.log")
            yield {"kind": "embedded", "url": f"http://127.0.0.1:{port}", "tmp": tmp, "env": env}
            return
        with redis_server(tmp / "redis") as redis_url:
            env["AUDITAPP_REDIS_URL"] = redis_url
            # flow.slow_state audits thousands of intersections (what makes a job long now that intervals come
            # from counts): the worker allows them.
            worker_env = dict(env, AUDITAPP_DATA_DIR=str(tmp / "worker-machine"), AUDITAPP_MAX_INTERSECTIONS="100000",
                              AUDITAPP_MAX_BOOTSTRAP_WORK="1000000000000")
            procs.append(celery_worker(worker_env, tmp / "worker.log"))
            web_env = dict(env, AUDITAPP_DATA_DIR=str(tmp / "web-machine"))
            procs.append(start([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "2",
                                "--bind", f"127.0.0.1:{port}", "app:server"], web_env, tmp / "web.log"))
            wait_http(f"http://127.0.0.1:{port}/", procs[-1], tmp / "web.log")
            yield {"kind": "team", "url": f"http://127.0.0.1:{port}", "tmp": tmp, "env": env,
                   "redis": redis_url, "worker": procs[0]}
            # Celery results held in reference cycles unsubscribe from Redis when collected: collect them while
            # this Redis still answers (collected during a later test, their errors were blamed on it).
            gc.collect()
    finally:
        for proc in reversed(procs):
            stop(proc)


def test_upload_metrics_thresholds_and_a_background_job(stack):
    client = DashClient(stack["url"])
    frame = flow.dataset()
    upload = client.upload("dataset", "scores.csv", frame.to_csv(index=False).encode())
    assert upload["rows"] == len(frame)
    values = {"app-session-store.data": client.token, "app-state-store.data": flow.state(upload["id"])}
    overview = client.call("metrics-context-text.children", values)["response"]
    assert overview["metrics-context-text"]["children"].startswith(f"{len(frame):,} rows")
    grouping = overview["metrics-grouping-dropdown"]["value"]
    moved = client.call("threshold-table-grid.rowData@", {
        **values, "threshold-value-slider.value": 0.5, "threshold-ready-store.data": grouping,
        "threshold-grouping-dropdown.value": grouping})["response"]
    rates = {row["group"]: row["selection_rate_value"] for row in moved["threshold-table-grid"]["rowData"]}
    assert rates == pytest.approx(flow.expected_selection_rates(frame))

    job = {"app-session-store.data": client.token, "app-state-store.data": HIRING,
           "explain-compute-button.n_clicks": 1, "explain-rows-input.value": 150, "explain-seed-input.value": 0}
    done = client.call("explain-ready-store.data@", job)
    # The last answer carries the final progress only when a poll caught the job finishing.
    assert done.get("progress", {}).get("explain-run-progress.label", "100%") == "100%"
    ready = done["response"]["explain-ready-store"]["data"]
    shown = client.call("explain-results-div.style", {**job, "explain-ready-store.data": ready})["response"]
    assert shown["explain-results-div"]["style"] != {"visibility": "hidden", "height": 0, "overflow": "hidden"}
    if stack["kind"] == "team":
        assert "background_callback_" in (stack["tmp"] / "worker.log").read_text()  # it ran on the worker


def test_a_worker_killed_mid_job_is_reported_and_the_rerun_works(stack):
    if stack["kind"] != "team":
        pytest.skip("the embedded manager's killed jobs are covered in test_jobs.py")
    from auditapp.service import jobs
    from auditapp.service.store import ArtifactStore
    from callbacks import managers

    store = ArtifactStore(stack["tmp"] / "test-machine", redis_url=stack["redis"])
    token = store.new_session()
    frame = flow.slow_dataset(20_000)
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="big.csv")
    celery = jobs.celery_app(Settings(data_dir=str(stack["tmp"] / "test-machine"), redis_url=stack["redis"]))
    slow = celery.send_task("auditapp.core.audit", args=[token, flow.slow_state(info.id)])
    deadline = time.monotonic() + 30
    while slow.state != "STARTED":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    for child in psutil.Process(stack["worker"].pid).children():
        child.kill()  # the pool process running the job dies (as with the OOM killer)
    deadline = time.monotonic() + 30
    while slow.state != "FAILURE":
        assert time.monotonic() < deadline, f"the job stayed {slow.state}"
        time.sleep(0.2)
    manager = managers.background_manager(Settings(data_dir=str(stack["tmp"] / "test-machine"),
                                               redis_url=stack["redis"]))
    lost = manager.get_result("no-result-key", slow.id)
    assert lost == {"background_callback_error": {"msg": jobs.JOB_LOST, "tb": ""}}
    never = manager.get_result("no-result-key", "a-job-no-worker-took")
    assert never["background_callback_error"]["msg"] == jobs.JOB_NOT_STARTED

    other_machine = ArtifactStore(stack["tmp"] / "another-machine", redis_url=stack["redis"])
    assert other_machine.path(token, info.id).read_bytes() == frame.to_csv(index=False).encode()
    rerun = celery.send_task("auditapp.core.audit", args=[token, flow.state(info.id)]).get(timeout=60)
    assert rerun["rows"] == len(frame)
    assert rerun["selection_rate"] == pytest.approx(flow.expected_selection_rates(frame))
    celery.close()


def test_an_uploaded_model_runs_in_sandboxes_of_the_web_helper_and_job_processes(stack):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from auditapp.inputs.sandbox import current_mode

    if not current_mode().strong:
        pytest.skip("needs bubblewrap")
    client = DashClient(stack["url"])
    frame = flow.dataset()
    model = LogisticRegression().fit(frame[["score"]], frame["y"])
    dataset = client.upload("dataset", "people.csv", frame.to_csv(index=False).encode())
    uploaded = client.upload("model", "lr.skops", sio.dumps(model))
    assert uploaded["features"] == ["score"] and "error" not in uploaded
    spec = {"target": "y", "favorable": 1, "sensitive": ["sex"], "n_boot": 50}
    state = {"dataset": dataset["id"], "model": uploaded["id"], "spec": spec}
    values = {"app-session-store.data": client.token, "app-state-store.data": state}
    overview = client.call("metrics-context-text.children", values)["response"]
    assert overview["metrics-context-text"]["children"].startswith(f"{len(frame):,} rows")
    job = {**values, "explain-compute-button.n_clicks": 1, "explain-rows-input.value": 60,
           "explain-seed-input.value": 0}
    ready = client.call("explain-ready-store.data@", job)["response"]["explain-ready-store"]["data"]
    shown = client.call("explain-results-div.style", {**job, "explain-ready-store.data": ready})["response"]
    assert shown["explain-results-div"]["style"] != {"visibility": "hidden", "height": 0, "overflow": "hidden"}
    if stack["kind"] == "team":
        assert "model process" in (stack["tmp"] / "worker.log").read_text()  # loaded in the worker's sandbox
