"""Login cost under gunicorn with a users file: refusals, a logged-in user's requests, a wrong-password flood.

    python bench/bench_login.py                 # this checkout
    python bench/bench_login.py --root DIR      # another checkout of the app (e.g. before a change)

Starts ``gunicorn app:server`` (the project's gunicorn.conf.py: 4 workers × 16 threads) on a loopback
port with a hashed users file, then measures:

1. refusing an unknown user against a known user with a wrong password (median of 15 each, every
   attempt from its own loopback address so no throttle is involved);
2. a logged-in user's request (``GET /_dash-layout``): with the session cookie of ``POST /login`` when
   the server offers one, else basic authentication on every request (as before the login page);
3. the same user's requests while 8 other clients (127.0.0.2–9) send wrong passwords as fast as
   they can: p50/p95 of the user's latency, how many flood requests were answered 429.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
FLOOD_SECONDS = 8.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port, method, path, *, headers=None, body=None, source="127.0.0.1"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        start = time.perf_counter()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response, time.perf_counter() - start
    finally:
        connection.close()


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@contextlib.contextmanager
def serve(root: Path, tmp: Path):
    sys.path.insert(0, str(ROOT))
    from auditapp.service.login import hash_password

    users = tmp / "users"
    users.write_text(f"ana:{hash_password(PASSWORD)}\nbo:{hash_password('another one')}\n")
    port = _port()
    env = {**os.environ, "AUDITAPP_USERS_FILE": str(users), "AUDITAPP_DATA_DIR": str(tmp / "data"),
           "AUDITAPP_DEMO": "", "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "AUDITAPP_REDIS_URL": ""}
    log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "app:server"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                request(port, "GET", "/login")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start; see {tmp / 'gunicorn.log'}") from None
                time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def refusals(port: int, user: str, password: str, n: int, first: int) -> list[float]:
    times = []
    for i in range(n):
        response, seconds = request(port, "GET", "/_dash-layout", headers=basic(user, password),
                                    source=f"127.0.{first}.{i + 1}")
        assert response.status == 401, response.status
        times.append(seconds)
    return times


def logged_in(port: int) -> tuple[dict, str]:
    """Headers of a logged-in user: the session cookie when the server has /login, else basic auth."""
    response, _ = request(port, "POST", "/login", body=urlencode({"user": "ana", "password": PASSWORD}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = response.getheader("Set-Cookie")
    if response.status == 303 and cookie:
        return {"Cookie": cookie.split(";")[0]}, "session cookie"
    return basic("ana", PASSWORD), "basic auth on every request"


def latencies(port: int, headers: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        response, seconds = request(port, "GET", "/_dash-layout", headers=headers)
        assert response.status == 200, response.status
        out.append(seconds)
    return out


def flood(port: int, headers: dict) -> tuple[list[float], list[int]]:
    stop, statuses = threading.Event(), []

    def hammer(source: str) -> None:
        while not stop.is_set():
            statuses.append(request(port, "GET", "/_dash-layout", headers=basic("ana", "guess"), source=source)[0].status)

    threads = [threading.Thread(target=hammer, args=(f"127.0.0.{i + 2}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    user = []
    deadline = time.monotonic() + FLOOD_SECONDS
    try:
        while time.monotonic() < deadline:
            user += latencies(port, headers, 1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return user, statuses


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose app:server is served")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve(args.root.resolve(), Path(tmp)) as port:
        latencies(port, logged_in(port)[0], 8)  # every worker imports what a request needs
        unknown = refusals(port, "nobody", "guess", 15, 10)
        known = refusals(port, "bo", "guess", 15, 11)
        print(f"refusal, unknown user:        median {statistics.median(unknown) * 1000:.1f} ms")
        print(f"refusal, known user, wrong pw: median {statistics.median(known) * 1000:.1f} ms "
              f"(ratio {statistics.median(unknown) / statistics.median(known):.2f})")
        headers, how = logged_in(port)
        quiet = latencies(port, headers, 40)
        print(f"logged-in user ({how}), alone:  p50 {ms(quiet, 0.5)}, p95 {ms(quiet, 0.95)}")
        busy, statuses = flood(port, headers)
        print(f"same user during an {FLOOD_SECONDS:.0f} s flood of {len(statuses)} wrong-password requests from 8 "
              f"clients: p50 {ms(busy, 0.5)}, p95 {ms(busy, 0.95)} ({len(busy)} requests); flood answers: "
              f"{statuses.count(401)} × 401, {statuses.count(429)} × 429")
    return 0


if __name__ == "__main__":
    sys.exit(main())
