"""Optional basic authentication for hosted use."""

from __future__ import annotations

import base64

import pytest
from flask import Flask

from auditapp.core.errors import AuditInputError
from auditapp.service import auth


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users"
    path.write_text(f"# team\nana:{auth.hash_password('correct horse')}\nbo:plain-pass\n")
    return path


@pytest.fixture
def server(users_file):
    server = Flask("auth-test")
    server.get("/")(lambda: "the app")
    server.login = auth.install(server, auth.load_users(basic_auth="admin:s3cret", users_file=str(users_file)),
                                secret=b"shared by every web process")
    return server


@pytest.fixture
def client(server):
    return server.test_client()


@pytest.mark.parametrize(("user", "password"), [("admin", "s3cret"), ("ana", "correct horse"), ("bo", "plain-pass")])
def test_configured_users_get_in(client, user, password):
    response = client.get("/", headers=_basic(user, password))
    assert response.status_code == 200 and response.text == "the app"


@pytest.mark.parametrize("headers", [{}, _basic("admin", "wrong"), _basic("eve", "s3cret"),
                                     {"Authorization": "Basic !!notbase64"}, {"Authorization": "Bearer x"}])
def test_everyone_else_is_asked_to_log_in(client, headers):
    response = client.get("/", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="auditapp"'
    assert client.get("/", headers=_basic("admin", "s3cret")).status_code == 200  # and the server carries on


def test_no_users_means_no_login(tmp_path):
    server = Flask("open")
    server.get("/")(lambda: "open")
    auth.install(server, auth.load_users())
    assert server.test_client().get("/").status_code == 200


def test_badly_written_settings_are_explained(tmp_path):
    with pytest.raises(AuditInputError, match="AUDITAPP_BASIC_AUTH must look like 'user:password'"):
        auth.load_users(basic_auth="just-a-password")
    with pytest.raises(AuditInputError, match="not a file"):
        auth.load_users(users_file=str(tmp_path / "missing"))
    bad = tmp_path / "users"
    bad.write_text("ana\n")
    with pytest.raises(AuditInputError, match="Line 1 of .* is not 'user:password'"):
        auth.load_users(users_file=str(bad))


# -- login that costs once ------------------------------------------------------------------------------

@pytest.fixture
def pbkdf2_calls(monkeypatch):
    """The iteration count of every PBKDF2 run from now on."""
    import hashlib

    calls, real = [], hashlib.pbkdf2_hmac

    def counting(name, password, salt, iterations, *args):
        calls.append(iterations)
        return real(name, password, salt, iterations, *args)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    return calls


def _median_seconds(client, headers, runs=5):
    """Median time of a refused login, each from its own address (so the throttle stays out of it)."""
    import statistics
    import time

    times = []
    for i in range(runs):
        start = time.perf_counter()
        address = f"10.{len(headers['Authorization'])}.0.{i}"
        assert client.get("/", headers=headers, environ_overrides={"REMOTE_ADDR": address}).status_code == 401
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_unknown_users_cost_the_same_check_as_known_users(client, pbkdf2_calls):
    client.get("/", headers=_basic("nobody", "guess"))
    client.get("/", headers=_basic("ana", "guess"))
    assert pbkdf2_calls == [200_000, 200_000]  # the dummy check uses the real hashes' iteration count
    unknown = _median_seconds(client, _basic("eve", "guess"))
    known = _median_seconds(client, _basic("ana", "wrong"))
    assert 0.5 < unknown / known < 2.0, (unknown, known)  # was 2.4 ms against 74 ms


def test_a_browser_logs_in_once_and_then_runs_no_pbkdf2(client, pbkdf2_calls):
    assert client.get("/", headers={"Accept": "text/html"}).headers["Location"] == "/login?next=/"
    page = client.get("/login?next=/")
    assert page.status_code == 200 and 'name="password"' in page.text
    response = client.post("/login", data={"user": "ana", "password": "correct horse", "next": "/"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert len(pbkdf2_calls) == 1
    for _ in range(20):
        assert client.get("/").text == "the app"
    assert len(pbkdf2_calls) == 1  # was one PBKDF2 (~87 ms) on every request


def test_the_cookie_is_secure_over_https(server):
    response = server.test_client().post("/login", base_url="https://audit.example",
                                         data={"user": "bo", "password": "plain-pass"})
    assert "Secure" in response.headers["Set-Cookie"]


def test_basic_credentials_are_checked_once_per_credential(server, pbkdf2_calls):
    client = server.test_client(use_cookies=False)  # like curl: the header on every request, no cookie
    for _ in range(10):
        assert client.get("/", headers=_basic("admin", "s3cret")).status_code == 200
    assert len(pbkdf2_calls) == 1
    assert client.get("/", headers=_basic("admin", "s3cre")).status_code == 401  # another credential: checked
    assert len(pbkdf2_calls) == 2


def test_forged_expired_or_outdated_cookies_are_refused(server, users_file):
    from auditapp.service.login import COOKIE, Login

    login = server.login
    client = server.test_client()
    good = login.issue("ana")
    name, expires, signature = good.split(".")
    for bad in (f"{name}.{int(expires) + 60}.{signature}", good.replace(name, "Ym8"), f"{name}.{expires}.{'0' * 64}",
                "junk", "a.b.c"):
        client.set_cookie(COOKIE, bad)
        assert client.get("/").status_code == 401
    client.set_cookie(COOKIE, good)
    assert client.get("/").text == "the app"
    other_worker = Login(auth.load_users(basic_auth="admin:s3cret", users_file=str(users_file)),
                         secret=b"shared by every web process")
    assert other_worker.cookie_user(good) == "ana" and other_worker.cookie_user(login.issue("bo")) == "bo"
    changed = Login({"ana": auth.hash_password("new password")}, secret=b"shared by every web process")
    assert changed.cookie_user(good) is None  # a changed password ends old sessions
    now = [1_000.0]
    short = Login({"ana": auth.hash_password("x", iterations=1_000)}, secret=b"k", session_seconds=10,
                  clock=lambda: now[0])
    cookie = short.issue("ana")
    now[0] = 1_009.0
    assert short.cookie_user(cookie) == "ana"
    now[0] = 1_011.0
    assert short.cookie_user(cookie) is None  # expired


def test_the_login_form_refuses_other_sites_and_foreign_redirects(client):
    forged = client.post("/login", data={"user": "ana", "password": "correct horse"},
                         headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "Set-Cookie" not in forged.headers
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"user": "ana", "password": "correct horse", "next": target})
        assert response.headers["Location"] == "/"
    wrong = client.post("/login", data={"user": "ana", "password": "nope", "next": "/policy"})
    assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text
    assert client.post("/logout").headers["Location"] == "/login"


@pytest.fixture
def quick_server():
    """Hashes of 1,000 iterations, so that the many wrong guesses below take milliseconds."""
    server = Flask("throttle-test")
    server.get("/")(lambda: "the app")
    users = {"ana": auth.hash_password("correct horse", iterations=1_000),
             "bo": auth.hash_password("plain-pass", iterations=1_000)}
    server.login = auth.install(server, users, secret=b"k")
    return server


def test_failed_logins_are_throttled_per_client_then_per_user(quick_server, pbkdf2_calls):
    server = quick_server
    attacker = server.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for _ in range(10):
        assert attacker.get("/", headers=_basic("ana", "guess")).status_code == 401
    refused = attacker.get("/", headers=_basic("ana", "correct horse"))
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 300
    assert len(pbkdf2_calls) == 10  # the refused attempt ran no PBKDF2
    form = attacker.post("/login", data={"user": "bo", "password": "plain-pass"})
    assert form.status_code == 429 and "Try again in" in form.text and "Retry-After" in form.headers
    colleague = server.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    assert colleague.get("/", headers=_basic("ana", "correct horse")).status_code == 200
    # Spread over many addresses, guesses at one name stop after 30 failures in 15 minutes.
    for i in range(20):
        rotating = server.test_client()
        rotating.environ_base["REMOTE_ADDR"] = f"192.0.2.{i}"
        rotating.get("/", headers=_basic("bo", "guess"))
    fresh = server.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    assert fresh.get("/", headers=_basic("bo", "plain-pass")).status_code == 200  # 20 + 0: still allowed
    for i in range(10):
        rotating = server.test_client()
        rotating.environ_base["REMOTE_ADDR"] = f"192.0.2.{100 + i}"
        rotating.get("/", headers=_basic("bo", "guess"))
    blocked = server.test_client()
    blocked.environ_base["REMOTE_ADDR"] = "198.51.100.3"
    assert blocked.get("/", headers=_basic("bo", "another guess")).status_code == 429


def test_the_throttle_forgets_after_its_window():
    from auditapp.service.login import Throttle

    now = [0.0]
    throttle = Throttle(2, 60, clock=lambda: now[0])
    throttle.fail("k")
    now[0] = 30
    throttle.fail("k")
    assert throttle.retry_after("k") == pytest.approx(30)
    now[0] = 60.5
    assert throttle.retry_after("k") == 0


APP_LOGIN = """
import hashlib, json
real, calls = hashlib.pbkdf2_hmac, []
hashlib.pbkdf2_hmac = lambda *a: calls.append(a[3]) or real(*a)
from app import create_app

client = create_app().server.test_client()
answers = {"page": client.get("/", headers={"Accept": "text/html"}).headers.get("Location")}
answers["dash_without_login"] = client.post("/_dash-update-component", json={}).status_code
before = len(calls)
answers["login"] = client.post("/login", data={"user": "ana", "password": "correct horse", "next": "/"}).status_code
answers["after"] = [client.get(path).status_code for path in ("/", "/_dash-layout", "/_dash-dependencies") * 5]
answers["checks"] = len(calls) - before
print(json.dumps(answers))
"""


def test_the_app_asks_for_a_login_once(tmp_path, users_file):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "AUDITAPP_DATA_DIR": str(tmp_path), "AUDITAPP_DEMO": "", "AUDITAPP_USERS_FILE": str(users_file)}
    out = subprocess.run([sys.executable, "-c", APP_LOGIN], cwd=Path(__file__).resolve().parents[2], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    answers = json.loads(out.stdout.strip().splitlines()[-1])
    assert answers == {"page": "/login?next=/", "dash_without_login": 401, "login": 303, "after": [200] * 15,
                       "checks": 1}
