"""Serving under gunicorn: the config file is read, and a fresh worker answers simultaneous first requests."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def printed_config(**env) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "app:server"], cwd=ROOT,
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in out.splitlines()) if v}


def test_the_config_file_sets_threads_workers_and_starts_the_helper():
    config = printed_config()
    assert config["threads"] == "16" and config["workers"] == "4" and config["timeout"] == "120"
    assert config["post_fork"] == "<post_fork()>"
    changed = printed_config(WEB_CONCURRENCY="2", AUDITAPP_WEB_THREADS="8", PORT="9000")
    assert (changed["workers"], changed["threads"], changed["bind"]) == ("2", "8", "['0.0.0.0:9000']")


FIRST_REQUESTS = """
import json, sys, threading
from app import create_app

app = create_app()
assert app._got_first_request == {"pages": True, "setup_server": True}, app._got_first_request
answers = []

def first_request():
    with app.server.test_client() as client:
        answers.append((client.get("/_dash-dependencies").status_code, client.get("/").status_code))

threads = [threading.Thread(target=first_request) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
deps = json.loads(app.server.test_client().get("/_dash-dependencies").data)
print(json.dumps({"answers": answers, "router": sum("_pages_location" in json.dumps(d) for d in deps)}))
"""


def test_dash_is_set_up_before_the_first_request(tmp_path):
    """Dash 4.4.1 sets itself up on the first request without a lock; we do it when the app is built."""
    env = {**os.environ, "AUDITAPP_DATA_DIR": str(tmp_path), "AUDITAPP_DEMO": ""}
    out = subprocess.run([sys.executable, "-c", FIRST_REQUESTS], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["answers"] == [[200, 200]] * 16 and result["router"] == 1
