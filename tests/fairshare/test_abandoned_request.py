"""A "Run audit" request whose browser goes away (tab closed, client timed out) stops its audit.

Real gunicorn (``gunicorn.conf.py``, one worker): the request is sent over a socket that the test then
closes; the server notices the closed connection, kills the helper computing the audit and frees the
slot, within seconds, while the audit alone would have run for half a minute or more.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
import urllib.parse

import psutil
import pytest

from auditapp.service.slots import AUDITS, FairQueue
from bench.load import DashClient, audit_form
from tests.heavy_audit import HEAVY_FEATURES, heavy_frame
from tests.scaleout.services import free_port, start, stop, wait_http
from tests.waiting import wait_for


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = dict(os.environ, AUDITAPP_DATA_DIR=str(tmp_path / "data"), AUDITAPP_DEMO="", AUDITAPP_REDIS_URL="",
               PORT=str(port), WEB_CONCURRENCY="1")
    proc = start([sys.executable, "-m", "gunicorn", "app:server"], env, tmp_path / "gunicorn.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, tmp_path / "gunicorn.log")
        yield f"http://127.0.0.1:{port}", tmp_path / "data", proc
    finally:
        stop(proc)


def _helpers(proc) -> set[int]:
    """The audit helpers of the gunicorn worker (children of its one worker process)."""
    return {child.pid for worker in psutil.Process(proc.pid).children()
            for child in worker.children() if child.is_running() and child.status() != psutil.STATUS_ZOMBIE}



def test_closing_the_connection_stops_the_audit_and_frees_its_slot(server):
    base, data_dir, proc = server
    client = DashClient(base)
    upload = client.upload("dataset", "heavy.csv", heavy_frame().to_csv(index=False).encode())
    form = audit_form(client.token, upload["id"], sensitive=list(HEAVY_FEATURES), n_boot=1000, target="y")
    queue = FairQueue.for_server(AUDITS, data_dir)
    address = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    connection.request("POST", client.update_path(), client.request_body("data-run-alert.children", form),
                       {"Content-Type": "application/json"})
    wait_for(lambda: queue.counts()["running"] == 1, 30, "the audit starting")
    computing = _helpers(proc)

    def cpu_seconds() -> float:
        return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in computing if psutil.pid_exists(pid))

    at_start = cpu_seconds()
    wait_for(lambda: cpu_seconds() > at_start + 1.0, 30, "the helper computing for a second")
    assert queue.counts()["running"] == 1  # still running: the audit alone takes half a minute
    connection.close()  # the browser goes away
    closed = time.monotonic()
    wait_for(lambda: queue.counts() == {"running": 0, "waiting": 0}, 10, "the slot being freed")
    wait_for(lambda: computing - _helpers(proc), 10, "the computing helper ending")
    assert time.monotonic() - closed < 10
    assert proc.poll() is None  # the server itself carries on
    client = DashClient(base)
    small = client.upload("dataset", "small.csv", heavy_frame(2_000, seed=5).to_csv(index=False).encode())
    answer = client.call("data-run-alert.children", audit_form(client.token, small["id"], sensitive=["region"],
                                                               n_boot=100, target="y"))
    assert "Audit ready" in str(answer["response"]["data-run-alert"]["children"])
