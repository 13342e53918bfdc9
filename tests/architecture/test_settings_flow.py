"""Settings travel as parameters from one object built at start-up: the compute packages never read or
write the environment; the entry points read it once and install the limits they parse."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from auditapp.core.limits import RuntimeLimits, configure, runtime
from auditapp.service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPUTE = ("core", "inputs", "policy", "reporting", "explain", "mitigation", "feedback", "figures", "compliance",
           "engines")
# Where the environment is touched on purpose, and why.
ALLOWED = {
    # Thread caps for numerical libraries must be in the environment before they load (a worker's first step).
    "auditapp/core/runtime.py",
    # Spark's local executors are Python workers started by the JVM: they get this interpreter from it.
    "auditapp/engines/spark_engine.py",
    # An executor's Python worker is started by Spark, not auditapp: it reads its own limits, as an entry point.
    "auditapp/engines/spark_model.py",
}


def _environment_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv", "unsetenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} os.{node.attr}")
    return found


def test_the_compute_packages_never_touch_the_environment():
    uses = [use for package in COMPUTE for path in sorted((ROOT / "auditapp" / package).rglob("*.py"))
            if str(path.relative_to(ROOT)) not in ALLOWED for use in _environment_uses(path)]
    assert uses == []


def test_the_limits_read_at_start_up_reach_the_compute_packages():
    from auditapp.core.workload import WorkLimits
    from auditapp.inputs.sandbox import SandboxLimits
    from auditapp.inputs.table_limits import Limits

    settings = Settings.from_env({"AUDITAPP_DATA_DIR": "/tmp/x", "AUDITAPP_MAX_ROWS": "7",
                                  "AUDITAPP_MAX_INTERSECTIONS": "9", "AUDITAPP_SANDBOX_TIMEOUT": "11",
                                  "AUDITAPP_MAX_GROUPS": "13", "AUDITAPP_DUCKDB_MEMORY": "2GB",
                                  "AUDITAPP_SOURCE_SAMPLE_ROWS": "800"})
    assert Settings.from_env(settings.to_env()) == settings  # a child process gets the same limits
    before = runtime()
    try:
        settings.install()
        assert Limits.configured().max_rows == 7 and WorkLimits.configured().max_intersections == 9
        assert SandboxLimits.configured().timeout == 11 and runtime().max_groups == 13
        assert runtime().duckdb_memory == "2GB" and settings.source_sample_rows == 800
    finally:
        configure(before)


def test_a_library_user_gets_the_defaults_whatever_the_environment(tmp_path):
    code = ("import pandas as pd; from auditapp.inputs.intake import read_table;"
            "print(len(read_table(b'a,b\\n1,1\\n2,2\\n3,3\\n', filename='t.csv').frame))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"AUDITAPP_MAX_ROWS": "1", "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "3", done.stderr[-2000:]


def test_the_command_line_reads_the_environment_once_at_start_up(tmp_path):
    (tmp_path / "t.csv").write_text("y,sex,p\n" + "1,a,1\n0,b,0\n" * 3)
    done = subprocess.run([sys.executable, "-m", "auditapp.cli", "audit", "--data", str(tmp_path / "t.csv"),
                           "--target", "y", "--sensitive", "sex", "--prediction", "p", "--json",
                           str(tmp_path / "out.json")], capture_output=True, text=True, cwd=ROOT,
                          env={"AUDITAPP_MAX_ROWS": "2", "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 2 and "AUDITAPP_MAX_ROWS" in done.stderr and "Traceback" not in done.stderr


def test_configure_takes_only_limits():
    with pytest.raises(TypeError):
        configure({"max_rows": 1})  # type: ignore[arg-type]  # the mistake this guards against
    assert isinstance(runtime(), RuntimeLimits)
