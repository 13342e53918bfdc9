"""Settings are built once at start-up and passed down: starting the app or ``auditapp serve`` leaves
``os.environ`` as it was, and the store and limits in use are the ones given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.runtime import _THREAD_VARS
from auditapp.service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
# Not settings: the native thread-pool caps every auditapp process sets for itself and its children
# (auditapp.core.runtime.limit_threads), and a flag scikit-learn sets on import.
NOT_SETTINGS = {*_THREAD_VARS, "KMP_DUPLICATE_LIB_OK"}


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any AUDITAPP_* setting (so nothing can come from there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITAPP_")}
    return {**env, **extra}


def test_settings_come_from_the_mapping_given_and_round_trip_through_a_child_environment(tmp_path):
    env = {"AUDITAPP_DATA_DIR": str(tmp_path), "AUDITAPP_TRUST_PICKLE": "yes", "AUDITAPP_DEMO": "",
           "AUDITAPP_MAX_UPLOAD_BYTES": "1_000_000", "AUDITAPP_ARTIFACT_TTL": "3600",
           "AUDITAPP_JOB_TIME_LIMIT": "45", "AUDITAPP_AUDIT_HELPER": "0", "AUDITAPP_SECRET": "k" * 40,
           "AUDITAPP_MEMORY_CACHE_BYTES": "2048"}
    settings = Settings.from_env(env)
    assert settings == Settings(data_dir=str(tmp_path), trust_pickle=True, demo=None, max_upload_bytes=1_000_000,
                                artifact_ttl=3600, job_time_limit=45, audit_helper=False, secret="k" * 40,
                                memory_cache_bytes=2048)
    assert Settings.from_env(settings.to_env()) == settings
    store = settings.open_store()
    assert (store.root, store.ttl, store.kind) == (tmp_path, 3600, "disk")
    with pytest.raises(AuditInputError, match="AUDITAPP_JOB_TIME_LIMIT must be a positive whole number, but is 'soon'"):
        Settings.from_env({"AUDITAPP_JOB_TIME_LIMIT": "soon"})
    with pytest.raises(AuditInputError, match="AUDITAPP_TRUSTED_PROXIES must be the number of reverse proxies"):
        Settings.from_env({"AUDITAPP_TRUSTED_PROXIES": "all"})
    assert Settings.from_env({"AUDITAPP_TRUSTED_PROXIES": "2", "AUDITAPP_LOGIN_SECONDS": "60"}).trusted_proxies == 2


CREATE_APP = """
import json, os, sys
from auditapp.service.config import Settings
before = dict(os.environ)
from app import create_app
from callbacks import context
given = Settings(data_dir=sys.argv[1], demo="", max_upload_bytes=3_000_000, artifact_ttl=1234,
                 job_time_limit=77, audit_helper=False)
app = create_app(given)
client = app.server.test_client()
status = client.get("/").status_code
store = context.get_store()
print(json.dumps({"changed": sorted(k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k)), "status": status,
                  "same_settings": context.settings() is given, "root": str(store.root), "ttl": store.ttl,
                  "max_content": app.server.config["MAX_CONTENT_LENGTH"],
                  "auditapp_vars": sorted(k for k in os.environ if k.startswith("AUDITAPP_"))}))
"""


def test_create_app_uses_the_settings_given_and_writes_no_environment(tmp_path):
    data = tmp_path / "given-data"
    out = subprocess.run([sys.executable, "-c", CREATE_APP, str(data)], cwd=ROOT, env=_clean_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result.pop("changed")) <= NOT_SETTINGS
    assert result == {"status": 200, "same_settings": True, "root": str(data),
                      "ttl": 1234, "max_content": 3_000_000 + 1024**2, "auditapp_vars": []}
    assert (data / "blobs").is_dir() and (data / "sessions").is_dir()  # the store the app opened is there


SERVE = """
import json, os, sys
import dash
before = dict(os.environ)
seen = {}

def run(self, **kwargs):  # instead of serving: record what the app was built with
    from callbacks import context
    seen.update(changed=sorted(k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k)), root=str(context.get_store().root),
                demo=context.settings().demo, trust_pickle=context.settings().trust_pickle,
                ttl=context.get_store().ttl, port=kwargs.get("port"))

dash.Dash.run = run
from auditapp.cli.main import main
status = main(["serve", "--data-dir", sys.argv[1], "--demo", "", "--port", "8123"])
print(json.dumps(dict(seen, status=status)))
"""


def test_cli_serve_passes_its_flags_and_the_environment_read_once_and_writes_no_environment(tmp_path):
    data = tmp_path / "flag-data"
    env = _clean_env(AUDITAPP_DATA_DIR=str(tmp_path / "env-data"), AUDITAPP_ARTIFACT_TTL="999",
                     AUDITAPP_AUDIT_HELPER="0", PYTHONPATH=str(ROOT))  # this checkout, run from another folder
    out = subprocess.run([sys.executable, "-c", SERVE, str(data)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result.pop("changed")) <= NOT_SETTINGS
    assert result == {"root": str(data), "demo": None, "trust_pickle": False,
                      "ttl": 999, "port": 8123, "status": 0}
    assert not (tmp_path / "env-data").exists()  # the flag wins over the environment
