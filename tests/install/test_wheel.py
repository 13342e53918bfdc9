"""``pip install`` of the wheel gives a working ``auditapp`` from any directory, and only that import name."""

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("auditapp", "callbacks", "layouts", "datasets", "app.py", "celery_app.py", "gunicorn.conf.py",
           "setup.py", "pyproject.toml", "README.md", "requirements.txt", "requirements-spark.txt")
DEADLINE = 120  # seconds for the server to answer; it answers in a few


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from a copy of the sources, installed in a fresh venv outside the checkout.

    The venv gets the pinned dependencies of the test environment as hard links (a copy where links cannot
    be made), so nothing is downloaded and the model sandbox, which reads only the venv, finds them; then
    the wheel with ``--no-deps``. The checkout's editable install is left out.
    """
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        path = ROOT / name
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, source / name, **({"ignore": ignore} if path.is_dir() else {}))
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(source)], check=True, cwd=work, capture_output=True)
    wheel = next(wheels.glob("auditapp-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    skip = shutil.ignore_patterns("__editable__*", "auditapp-*", "auditapp", "pyspark", "pyspark-*", "_pytest",
                                  "playwright")

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(sysconfig.get_paths()["purelib"], site, ignore=skip, copy_function=link, dirs_exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUDITAPP_DATA_DIR")}
    env["AUDITAPP_DATA_DIR"] = str(work / "data")
    run_dir = work / "elsewhere"
    run_dir.mkdir()
    return {"wheel": wheel, "venv": venv, "env": env, "cwd": run_dir}


def _run(installed, *args, timeout=300):
    return subprocess.run([str(installed["venv"] / "bin" / "auditapp"), *args], cwd=installed["cwd"],
                          env=installed["env"], capture_output=True, text=True, timeout=timeout)


def test_the_wheel_installs_only_the_auditapp_import_name(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert {n.split("/")[0] for n in names} == {"auditapp", "auditapp-0.1.0.dist-info"}
    assert {"auditapp/_web/app.py", "auditapp/_web/layouts/assets/style.css", "auditapp/_web/datasets/README.md",
            "auditapp/_web/callbacks/data.py", "auditapp/_web/layouts/pages/__init__.py"} <= set(names)
    python = str(installed["venv"] / "bin" / "python")
    code = ("import importlib.util as u, auditapp; print(auditapp.__file__); "
            "print([n for n in ('callbacks', 'layouts', 'datasets', 'app') if u.find_spec(n)])")
    out = subprocess.run([python, "-c", code], cwd=installed["cwd"], env=installed["env"], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[0].startswith(str(installed["venv"])) and out[1] == "[]"


def test_demo_and_audit_run_from_any_directory(installed):
    demo = _run(installed, "demo", "hiring", "--out", "demo")
    assert demo.returncode == 0, demo.stderr
    folder = installed["cwd"] / "demo"
    assert (folder / "hiring.csv").is_file() and (folder / "hiring_model.skops").is_file()
    audit = _run(installed, "audit", "--data", "demo/hiring.csv", "--model", "demo/hiring_model.skops",
                 "--target", "hired", "--sensitive", "sex", "--json", "audit.json")
    assert audit.returncode == 0, audit.stderr
    record = json.loads((installed["cwd"] / "audit.json").read_text())
    assert record["dataset"]["rows"] > 0 and {g["attributes"]["sex"] for g in record["groups"]} >= {"female", "male"}


def test_serve_answers_200(installed):
    port = _free_port()
    server = subprocess.Popen([str(installed["venv"] / "bin" / "auditapp"), "serve", "--port", str(port)],
                              cwd=installed["cwd"], env=installed["env"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = threading.Timer(DEADLINE, server.kill)  # a server that never listens is stopped, and fails
    deadline.start()
    try:
        for line in server.stdout:  # werkzeug says "Running on" once its socket listens
            if "Running on http://" in line:
                break
        else:
            pytest.fail(f"auditapp serve exited with {server.wait()} before listening")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=DEADLINE) as response:
            assert response.status == 200
            assert b"auditapp" in response.read().lower()
    finally:
        deadline.cancel()
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()
