"""Optional basic authentication for hosted use."""

from __future__ import annotations

import base64

import pytest
from flask import Flask

from auditapp import auth
from auditapp.errors import AuditInputError


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def client(tmp_path):
    users_file = tmp_path / "users"
    users_file.write_text(f"# team\nana:{auth.hash_password('correct horse')}\nbo:plain-pass\n")
    server = Flask("auth-test")
    server.get("/")(lambda: "the app")
    auth.install(server, auth.load_users(basic_auth="admin:s3cret", users_file=str(users_file)))
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
