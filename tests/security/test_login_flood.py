"""A logged-in user keeps working while other clients hammer the login with wrong passwords.

A real threaded HTTP server on loopback; the attackers connect from their own loopback addresses
(127.0.0.2 …) so each is a separate client, as on a network.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import statistics
import threading
import time
from urllib.parse import urlencode

import pytest
from flask import Flask
from werkzeug.serving import make_server

from auditapp.service import auth

ATTACKERS = 8


@pytest.fixture
def running(monkeypatch, caplog):
    caplog.set_level(logging.ERROR, logger="werkzeug")  # one access-log line per request is noise here
    calls = []
    real = hashlib.pbkdf2_hmac

    def counting(name, password, salt, iterations, *args):
        calls.append(iterations)
        return real(name, password, salt, iterations, *args)

    server = Flask("flood")
    server.get("/work")(lambda: {"total": sum(range(20_000))})
    auth.install(server, {"ana": auth.hash_password("correct horse")}, secret=b"k")
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    http_server = make_server("127.0.0.1", 0, server, threaded=True)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield http_server.server_port, calls
    http_server.shutdown()
    thread.join()


def _request(port, method, path, *, headers=None, body=None, source="127.0.0.1"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        start = time.perf_counter()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response, time.perf_counter() - start
    finally:
        connection.close()


def _latencies(port, cookie, n):
    times = []
    for _ in range(n):
        response, seconds = _request(port, "GET", "/work", headers={"Cookie": cookie})
        assert response.status == 200
        times.append(seconds)
    return times


def test_a_wrong_password_flood_leaves_a_logged_in_user_fast(running):
    port, calls = running
    response, _ = _request(port, "POST", "/login", body=urlencode({"user": "ana", "password": "correct horse"}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 303
    cookie = response.getheader("Set-Cookie").split(";")[0]
    quiet = _latencies(port, cookie, 30)
    stop, statuses, refused = threading.Event(), [], set()
    all_refused = threading.Event()
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ana:guess").decode()}

    def hammer(source):
        while not stop.is_set():
            status = _request(port, "GET", "/work", headers=wrong, source=source)[0].status
            statuses.append(status)
            if status == 429:
                refused.add(source)
                if len(refused) == ATTACKERS:
                    all_refused.set()

    attackers = [threading.Thread(target=hammer, args=(f"127.0.0.{i + 2}",)) for i in range(ATTACKERS)]
    for attacker in attackers:
        attacker.start()
    busy = []
    try:
        deadline = time.monotonic() + 120
        while not all_refused.is_set() and time.monotonic() < deadline:  # the whole costly part of the flood
            busy += _latencies(port, cookie, 5)
        busy += _latencies(port, cookie, 30)  # and after it, while the attackers still hammer
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join()
    # Every address may fail 10 times, the name 30 times in 15 minutes: then 429 without any PBKDF2.
    assert len(calls) <= 1 + 30 and statuses.count(429) > 0 and set(statuses) <= {401, 429}
    p50_quiet, p50_busy = statistics.median(quiet), statistics.median(busy)
    p95_busy = statistics.quantiles(busy, n=20)[-1]
    print(f"\nlogged-in user: p50 {p50_quiet * 1000:.1f} ms alone, p50 {p50_busy * 1000:.1f} ms / p95 "
          f"{p95_busy * 1000:.1f} ms during {len(statuses)} wrong-password requests "
          f"({statuses.count(429)} answered 429, {len(calls) - 1} password checks)")
    assert p50_busy < 0.1  # was 801 ms: every request re-ran PBKDF2 next to the flood's
