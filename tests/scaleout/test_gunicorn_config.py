"""``gunicorn app:server`` picks up gunicorn.conf.py: enough threads that waiting audits starve no one."""

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
