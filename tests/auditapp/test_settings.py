"""Settings are built once and passed down: starting the app never writes them into ``os.environ``.

(Thread-pool caps such as ``OMP_NUM_THREADS`` are set in the environment on purpose: native libraries
read them there, in this process and its children.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, sys
before = {k: v for k, v in os.environ.items()}
from auditapp.service.config import Settings
import app
from callbacks import context
from auditapp.service import jobs
from auditapp.service.store import default_store
settings = Settings(data_dir=sys.argv[1], demo=None, trust_pickle=True, audit_helper=False, max_upload_bytes=12345)
app.create_app(settings)
after = {k: v for k, v in os.environ.items()}
print(json.dumps({"changed": sorted(k for k in set(before) | set(after)
                              if k.startswith("AUDITAPP_") and before.get(k) != after.get(k)),
                  "store": str(context.get_store().root), "default": str(default_store().root),
                  "trust": context.settings().trust_pickle, "upload": context.settings().max_upload_bytes}))
"""


def test_the_app_uses_the_settings_it_is_given_and_leaves_the_environment_alone(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AUDITAPP_DATA_DIR": str(tmp_path / "from-env")}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "given")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["changed"] == []
    # Every service of the process (callbacks, background jobs) uses the given folder, not the environment's.
    assert result["store"] == result["default"] == str(tmp_path / "given")
    assert result["trust"] is True and result["upload"] == 12345
