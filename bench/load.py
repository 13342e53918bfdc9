"""Load test: simulated users doing upload → metrics → threshold moves against a real server.

    python bench/load.py                      # starts gunicorn (4 workers) on a free loopback port
    python bench/load.py --url http://127.0.0.1:8050   # an already running server (loopback only)

Every user is a thread with its own session: it uploads a 100,000-row dataset (the same content for
everyone, as on a team sharing a file), runs the audit (the Data & model page's callbacks), opens Group
metrics and moves the threshold slider ``--moves`` times. The run is bounded by ``--users`` (at most 50)
and ``--duration`` (at most 600 s). Targets: 0 errors; p95 ≤ 500 ms for metric and threshold callbacks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class DashClient:
    """Calls a Dash app's callbacks over HTTP the way the browser does (one page load)."""

    def __init__(self, base: str, *, timeout: float = 120):
        self.base, self.timeout = base.rstrip("/"), timeout
        page = self._request("GET", "/")[1].decode()
        config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                                      page, re.S).group(1))
        self.end_id = config.get("end_id")
        self.callbacks = json.loads(self._request("GET", "/_dash-dependencies")[1])
        token = re.search(r'"app-session-store"[^}]*?"data":\s*"([^"]+)"', self._request("GET", "/_dash-layout")[1]
                          .decode())
        self.token = token.group(1) if token else None
        self.side_updates: list[dict] = []  # what callbacks set on other components (set_props)

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.status, response.read()

    def find(self, output: str) -> dict:
        """The callback whose output spec contains ``output`` (e.g. ``"metrics-bar-graph.figure"``)."""
        def hit(item: str) -> bool:
            return item == output or (output.endswith("@") and item.startswith(output))

        matches = [c for c in self.callbacks if any(hit(o) for o in c["output"].strip(".").split("..."))]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} callbacks output {output}")
        return matches[0]

    def request_body(self, output: str, values: dict[str, object]) -> bytes:
        """The JSON body the browser posts to run the callback that outputs ``output``."""
        spec = self.find(output)
        outputs = [dict(zip(("id", "property"), o.rsplit(".", 1), strict=True))
                   for o in spec["output"].strip(".").split("...")]
        def item(dep):  # a pattern-matching dependency (ALL) matches no component here: an empty list
            if dep["id"].startswith("{"):
                return []
            return {"id": dep["id"], "property": dep["property"], "value": values.get(f"{dep['id']}.{dep['property']}")}

        inputs, state = [item(i) for i in spec["inputs"]], [item(s) for s in spec["state"]]
        payload = {"output": spec["output"], "outputs": outputs if spec["output"].startswith("..") else outputs[0],
                   "inputs": inputs, "state": state, "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}
        return json.dumps(payload).encode()

    def update_path(self, **query) -> str:
        """The path of Dash's callback route for this page load (with a background job's handles)."""
        query = {"endId": self.end_id, **query} if self.end_id else query
        return "/_dash-update-component?" + urllib.parse.urlencode(query)

    def call(self, output: str, values: dict[str, object], *, poll: float = 0.2) -> dict:
        """Run one callback with ``values`` keyed ``"id.property"``; wait for background jobs to finish."""
        body = self.request_body(output, values)
        query = {}
        deadline = time.monotonic() + self.timeout
        while True:
            status, raw = self._request("POST", self.update_path(**query), body,
                                        {"Content-Type": "application/json"})
            if status == 204:
                return {}
            answer = json.loads(raw)
            if "sideUpdate" in answer:
                self.side_updates.append(answer["sideUpdate"])
            if "cacheKey" in answer:  # a background job started: poll with its signed handles
                query.update(cacheKey=answer["cacheKey"], job=answer["job"])
            elif "response" in answer or ("sideUpdate" in answer and "cacheKey" not in query):
                return answer  # (a running job's answers carry its progress and updates, not its response)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{output}: no result in {self.timeout} s")
            time.sleep(poll)

    def upload(self, kind: str, name: str, data: bytes) -> dict:
        status, raw = self._request("POST", f"/api/upload/{kind}", data, {
            "X-Auditapp-Session": self.token, "X-Filename": urllib.parse.quote(name)})
        return json.loads(raw)


def audit_form(token: str, dataset_id: str, *, sensitive: list[str], n_boot: int, target: str = "hired",
               score: str = "score") -> dict:
    """The Data & model page's values when the user presses Run audit (scores thresholded at 0.5).

    The page has no bootstrap any more (intervals come from counts); ``n_boot`` only makes the settings
    new, through the minimum group size (1000 gives the default 30), so that each pass is a new audit.
    """
    return {"app-session-store.data": token, "data-run-button.n_clicks": 1,
            "app-state-store.data": {"dataset": dataset_id, "model": None, "spec": None},
            "data-target-dropdown.value": target, "data-favorable-dropdown.value": 1,
            "data-source-radio.value": "score", "data-score-dropdown.value": score,
            "data-threshold-input.value": 0.5, "data-sensitive-dropdown.value": sensitive,
            "data-bins-input.value": "", "data-min-group-input.value": 30 + n_boot % 1000,
            "data-confidence-radio.value": 0.95}


def make_dataset(n_rows: int, seed: int = 0) -> bytes:
    """A 100,000-row scored dataset with two sensitive features (CSV bytes)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n_rows)
    ethnicity = rng.choice(["a", "b", "c", "d"], n_rows, p=[0.5, 0.25, 0.15, 0.1])
    score = np.clip(rng.normal(0.5, 0.18, n_rows) - 0.06 * (sex == "female"), 0, 1).round(4)
    frame = pd.DataFrame({"sex": sex, "ethnicity": ethnicity, "experience": rng.integers(0, 30, n_rows),
                          "score": score, "hired": (rng.random(n_rows) < score).astype(int)})
    return frame.to_csv(index=False).encode()


def user_session(base: str, data: bytes, moves: int, record, stop: threading.Event, seed: int) -> None:
    """One simulated user: upload → run the audit (Data & model) → Group metrics → threshold moves."""
    import random

    rng = random.Random(seed)

    def timed(kind: str, function):
        start = time.perf_counter()
        try:
            result = function()
        except Exception as exc:  # recorded as an error of this step, then the user stops
            record(kind, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
            raise
        record(kind, time.perf_counter() - start, None)
        return result

    client = timed("page load", lambda: DashClient(base))
    upload = timed("upload", lambda: client.upload("dataset", "applicants.csv", data))
    if "error" in upload:
        record("upload", 0.0, upload["error"])
        return
    form = audit_form(client.token, upload["id"], sensitive=["sex", "ethnicity"], n_boot=1000)
    ran = timed("run audit", lambda: client.call("data-run-alert.children", form))["response"]
    state = ran["app-state-store"]["data"]
    values = {"app-session-store.data": client.token, "app-state-store.data": state}
    overview = timed("metrics", lambda: client.call("metrics-context-text.children", values))
    grouping = overview["response"]["metrics-grouping-dropdown"]["value"]
    timed("metrics", lambda: client.call("metrics-bar-graph.figure", {
        **values, "metrics-grouping-dropdown.value": grouping,
        "metrics-metric-checklist.value": ["selection_rate", "true_positive_rate"]}))
    timed("metrics", lambda: client.call("metrics-disparity-graph.figure", {
        **values, "metrics-grouping-dropdown.value": grouping, "metrics-disparity-dropdown.value": "selection_rate",
        "metrics-disparity-radio.value": "ratio"}))
    timed("threshold", lambda: client.call("threshold-grouping-dropdown.options", values))
    timed("threshold", lambda: client.call("threshold-roc-graph.figure", {
        **values, "threshold-grouping-dropdown.value": grouping, "threshold-value-slider.value": 0.5}))
    for _ in range(moves):
        if stop.is_set():
            return
        t = round(rng.uniform(0.2, 0.8), 2)
        timed("threshold", lambda t=t: client.call("threshold-table-grid.rowData@", {
            **values, "threshold-value-slider.value": t, "threshold-ready-store.data": grouping,
            "threshold-grouping-dropdown.value": grouping}))
        time.sleep(rng.uniform(0.05, 0.3))  # a person dragging a slider, not a tight loop


def run_load(base: str, *, users: int, moves: int, duration: float, rows: int) -> dict:
    """Run the simulated users; return timings (seconds) and errors by step."""
    host = urllib.parse.urlparse(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/load.py only targets loopback servers.")
    datasets = [make_dataset(rows, seed=i) for i in range(users)]  # each user brings their own file
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock, stop = threading.Lock(), threading.Event()

    def record(kind, seconds, error):
        with lock:
            timings[kind].append(seconds)
            if error:
                errors.append(f"{kind}: {error}")

    def user(i):
        with contextlib.suppress(Exception):
            user_session(base, datasets[i], moves, record, stop, seed=i)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(max(0.0, duration - (time.monotonic() - start)))
    stop.set()
    unfinished = sum(t.is_alive() for t in threads)
    if unfinished:
        errors.append(f"{unfinished} users had not finished after {duration:.0f} s")
    return {"timings": dict(timings), "errors": errors, "wall": time.monotonic() - start}


def summary(result: dict) -> str:
    lines = [f"{'step':<10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
    for kind, values in result["timings"].items():
        ms = sorted(v * 1000 for v in values)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        lines.append(f"{kind:<10} {len(ms):>5} {statistics.median(ms):>8.0f} {p95:>8.0f} {ms[-1]:>8.0f}")
    lines.append(f"errors: {len(result['errors'])}" + "".join(f"\n  {e}" for e in result["errors"][:10]))
    lines.append(f"wall time: {result['wall']:.1f} s")
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(workers: int, *, data_dir: str | None = None, demo: str = ""):
    """gunicorn app:server (gunicorn.conf.py) with ``workers`` processes on a free loopback port, in a fresh data dir."""
    port = _free_port()
    data_dir = data_dir or tempfile.mkdtemp(prefix="auditapp-load-")
    env = dict(os.environ, AUDITAPP_DATA_DIR=data_dir, AUDITAPP_DEMO=demo)
    log = open(Path(data_dir) / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    # Threads, timeout and the helper start-up come from gunicorn.conf.py, as in production.
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers),
                             "--bind", f"127.0.0.1:{port}", "app:server"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                DashClient(base)
                break
            except (OSError, AttributeError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log.name}") from None
                time.sleep(0.5)
        _warm_up(base, workers)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _warm_up(base: str, workers: int) -> None:
    """Each gunicorn worker builds the app on its first request: make them all do it before measuring."""
    for _ in range(20):
        times: list[float] = []

        def hit(times=times):
            start = time.perf_counter()
            with urllib.request.urlopen(base + "/_dash-layout", timeout=120):
                times.append(time.perf_counter() - start)

        threads = [threading.Thread(target=hit) for _ in range(4 * workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if max(times) < 0.5:
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server on loopback (default: start gunicorn)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--moves", type=int, default=15, help="threshold moves per user")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=300, help="stop after this many seconds")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    users, duration = min(args.users, 50), min(args.duration, 600)
    with contextlib.ExitStack() as stack:
        base = args.url or stack.enter_context(gunicorn(args.workers))
        result = run_load(base, users=users, moves=args.moves, duration=duration, rows=args.rows)
    print(f"{users} users, {args.rows:,} rows, {args.moves} threshold moves each, against {base}")
    print(summary(result))
    slow = [k for k in ("metrics", "threshold") if k in result["timings"]
            and sorted(result["timings"][k])[int(0.95 * (len(result["timings"][k]) - 1))] > 0.5]
    return 1 if result["errors"] or slow else 0


if __name__ == "__main__":
    sys.exit(main())
