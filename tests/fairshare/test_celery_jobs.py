"""Background jobs on Celery workers share the same caps: the job queue lives in Redis.

Team set-up with real processes (redis-server, ``celery -A celery_app worker`` with 3 pool processes,
gunicorn), ``AUDITAPP_MAX_JOBS=1``: three users start an explanation job at once through the web; the
worker could run all three, but one runs at a time and the others wait their turn; all three finish.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from auditapp.service.slot_backends import RedisQueueBackend
from auditapp.service.slots import JOBS, Caps, FairQueue
from bench.load import DashClient
from tests.scaleout.services import celery_worker, free_port, redis_server, start, stop, wait_http

pytestmark = pytest.mark.slow
HIRING = {"dataset": "builtin:hiring", "model": "builtin:hiring-model", "scenario": "hiring",
          "spec": {"target": "hired", "favorable": 1, "sensitive": ["sex", "ethnicity"], "n_boot": 100}}


def tail(log, lines=40):
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else f"{log}: no log"


def test_three_jobs_on_a_three_process_worker_run_one_at_a_time(tmp_path):
    env = dict(os.environ, AUDITAPP_DEMO="hiring", AUDITAPP_MAX_JOBS="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("AUDITAPP_SECRET", None)
    port = free_port()
    with redis_server(tmp_path / "redis") as redis_url:
        env["AUDITAPP_REDIS_URL"] = redis_url
        procs = []
        try:
            procs.append(celery_worker(dict(env, AUDITAPP_DATA_DIR=str(tmp_path / "worker")), tmp_path / "worker.log",
                                       concurrency=3))
            procs.append(start([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                                "app:server"], dict(env, AUDITAPP_DATA_DIR=str(tmp_path / "web")), tmp_path / "web.log"))
            wait_http(f"http://127.0.0.1:{port}/", procs[-1], tmp_path / "web.log")
            queue = FairQueue(JOBS, RedisQueueBackend(redis_url, "jobs"), Caps(1, 1, 20, 300))
            clients = [DashClient(f"http://127.0.0.1:{port}") for _ in range(3)]
            results, errors, seen, done = {}, {}, [], threading.Event()

            def run(i, client):
                job = {"app-session-store.data": client.token, "app-state-store.data": HIRING,
                       "explain-compute-button.n_clicks": 1, "explain-rows-input.value": 400,
                       "explain-seed-input.value": i}  # different seeds: nothing is shared through the cache
                try:
                    results[i] = client.call("explain-ready-store.data@", job)
                except Exception as exc:  # reported below with the services' logs
                    errors[i] = f"{type(exc).__name__}: {exc} (after {time.monotonic() - began:.0f} s)"

            threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
            began = time.monotonic()
            for thread in threads:
                thread.start()

            def watch():
                while not done.is_set():
                    seen.append(queue.counts())
                    done.wait(0.05)

            watcher = threading.Thread(target=watch)
            watcher.start()
            for thread in threads:
                thread.join(180)
            deadline = time.monotonic() + 30  # a job's slot is freed just after its answer is delivered
            while queue.counts() != {"running": 0, "waiting": 0} and time.monotonic() < deadline:
                done.wait(0.05)
            done.set()
            watcher.join()
            seen.append(queue.counts())
        finally:
            for proc in reversed(procs):
                stop(proc)
    assert sorted(results) == [0, 1, 2], (errors, seen[-5:], tail(tmp_path / "worker.log"), tail(tmp_path / "web.log"))
    for answer in results.values():
        assert answer["response"]["explain-ready-store"]["data"]["rows_per_group"] == 400, answer
    assert max(c["running"] for c in seen) == 1
    assert max(c["waiting"] for c in seen) >= 1  # they overlapped, and waited their turn
    assert seen[-1] == {"running": 0, "waiting": 0}
    notices = [str(update) for client in clients for update in client.side_updates]
    assert any("Your background job is waiting for a free slot: 1 background job ahead of yours" in n
               for n in notices)
    assert "background_callback_" in (tmp_path / "worker.log").read_text()
