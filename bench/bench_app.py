"""The app's start-up and the threshold slider at 1,000,000 rows.

Targets (issue 3): gunicorn process start → first page served ≤ 2 s; shap and fairlearn not imported
at start-up; one slider move ≤ 1 ms of engine time once scores are sorted per group, and ≤ 100 ms for
the whole callback round trip over HTTP.

Run: .venv/bin/python bench/bench_app.py [--rows N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditapp.core.runtime import limit_threads  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(data_dir: str, port: int) -> tuple[subprocess.Popen, float]:
    """Start gunicorn and return the process and the seconds until the first page was served."""
    env = dict(os.environ, AUDITAPP_DATA_DIR=data_dir)
    start = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--workers", "1", "--threads", "4",
                             "--bind", f"127.0.0.1:{port}", "app:server"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                if response.status == 200:
                    return proc, time.perf_counter() - start
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited") from None
            time.sleep(0.02)


def heavy_imports_at_start(data_dir: str) -> dict[str, bool]:
    code = ("import sys, app; app.create_app(); "
            "print({m: m in sys.modules for m in ('shap', 'fairlearn', 'sklearn')})")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, AUDITAPP_DATA_DIR=data_dir),
                         capture_output=True, text=True, check=True)
    return eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own subprocess' dict literal


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.45, 0.55])
    race = rng.choice(["A", "B", "C", "D", "E"], n, p=[0.5, 0.25, 0.15, 0.07, 0.03])
    label = rng.binomial(1, 0.3 + 0.1 * (sex == "male"))
    score = np.clip(rng.normal(0.35 + 0.3 * label, 0.2), 0, 1)
    return pd.DataFrame({"label": label, "score": score, "sex": sex, "race": race})


def post_callback(url: str, payload: dict) -> float:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url + "/_dash-update-component", data=body,
                                     headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        if response.status not in (200, 204):
            raise RuntimeError(f"callback answered {response.status}")
    return time.perf_counter() - start


def threshold_payload(url: str, token: str, state: dict, grouping: str, value: float) -> dict:
    with urllib.request.urlopen(url + "/_dash-dependencies") as response:
        deps = json.load(response)
    dep = next(d for d in deps if any(i["id"] == "threshold-value-slider" for i in d["inputs"])
               and "threshold-table-grid.rowData" in d["output"])
    states = []
    for s in dep["state"]:
        value_for = {"threshold-ready-store": grouping, "threshold-grouping-dropdown": grouping,
                     "app-state-store": state, "app-session-store": token}[s["id"]]
        states.append({**s, "value": value_for})
    return {"output": dep["output"], "outputs": [_split(o) for o in dep["output"].strip(".").split("...")],
            "inputs": [{"id": "threshold-value-slider", "property": "value", "value": value}],
            "changedPropIds": ["threshold-value-slider.value"], "state": states}


def _split(output: str) -> dict:
    ident, prop = output.rsplit(".", 1)
    return {"id": ident, "property": prop.split("@")[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    limit_threads()
    from auditapp.core.spec import AuditSpec
    from auditapp.service import workspace
    from auditapp.service.store import ArtifactStore

    with tempfile.TemporaryDirectory() as data_dir:
        proc, _ = start_gunicorn(data_dir, free_port())  # first start installs the demo scenario once
        proc.terminate()
        proc.wait()
        starts = []
        for _ in range(3):
            proc, seconds = start_gunicorn(data_dir, free_port())
            starts.append(seconds)
            proc.terminate()
            proc.wait()
        print(f"app start (gunicorn process start → first page served): {min(starts):.2f} s "
              f"(best of 3; median {np.median(starts):.2f} s)")
        print(f"modules imported at start-up: {heavy_imports_at_start(data_dir)}")

        store = ArtifactStore(data_dir)
        token = store.new_session()
        buffer = io.BytesIO()
        make_frame(args.rows).to_parquet(buffer, index=False)
        info = store.put(token, buffer.getvalue(), kind="dataset", name="bench.parquet")
        spec = AuditSpec(target="label", score="score", threshold=0.5, sensitive=("sex", "race"))
        state = {"dataset": info.id, "model": None, "spec": spec.to_dict()}
        grouping = "sex|race"
        index = workspace.threshold_index_for(store, token, state, ("sex", "race"))
        rng = np.random.default_rng(0)
        engine = []
        for t in rng.uniform(0, 1, 2000):
            start = time.perf_counter()
            index.rates_at(float(t))
            engine.append(time.perf_counter() - start)
        counts = []
        for t in rng.uniform(0, 1, 2000):
            start = time.perf_counter()
            index.counts_at(float(t))
            counts.append(time.perf_counter() - start)
        print(f"{args.rows:,} rows, {len(index.labels)} intersections: engine time per slider move "
              f"{np.median(counts) * 1e3:.3f} ms for the confusion counts, {np.median(engine) * 1e3:.3f} ms "
              f"with every rate in a table (median of 2,000)")

        port = free_port()
        proc, _ = start_gunicorn(data_dir, port)
        try:
            url = f"http://127.0.0.1:{port}"
            warm = post_callback(url, threshold_payload(url, token, state, grouping, 0.5))
            trips = [post_callback(url, threshold_payload(url, token, state, grouping, float(t)))
                     for t in rng.uniform(0, 1, 50)]
        finally:
            proc.terminate()
            proc.wait()
        print(f"callback round trip over HTTP (gunicorn, slider move): median {np.median(trips) * 1e3:.1f} ms, "
              f"p95 {np.quantile(trips, 0.95) * 1e3:.1f} ms, max {max(trips) * 1e3:.1f} ms "
              f"(first call in a fresh worker, which reads the audit from the shared cache: {warm:.1f} s)")


if __name__ == "__main__":
    main()
