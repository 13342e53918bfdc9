"""One workspace per browser: a signed cookie shared by a browser's requests, and nobody else's."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import quote

import pytest
from flask import Flask

from auditapp.service import auth
from callbacks import browser_session
from callbacks.browser_session import COOKIE, TAG_COOKIE, current_token, workspace_tag
from callbacks.routes import register_routes

CSV = b"sex,y,pred\nf,1,1\nm,0,1\nf,0,0\n"


def _server(store, settings, users=None):
    server = Flask("workspace-test")
    register_routes(server, store, settings)
    if users:
        auth.install(server, users, secret=b"k")
    browser_session.install(server, store)
    server.get("/")(lambda: current_token(store))  # what the page's layout would hand its callbacks
    return server


def _set_cookies(response) -> dict[str, dict]:
    out = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            out[name] = {"value": morsel.value, **{k: morsel[k] for k in ("httponly", "samesite", "max-age",
                                                                             "expires", "path")}}
    return out


def _page_upload(client, name="mine.csv", data=CSV, *, from_page=True):
    headers = {"X-Filename": quote(name)}
    if from_page:
        headers[browser_session.UPLOAD_HEADER] = "1"
    return client.post("/api/upload/dataset", data=data, headers=headers).get_json()


def test_a_browser_gets_one_signed_workspace_cookie_for_the_session(store, settings):
    client = _server(store, settings).test_client()
    first = client.get("/")
    cookies = _set_cookies(first)
    token = cookies[COOKIE]["value"]
    assert first.text == token and store.session_id(token)  # signed by this server; the page gets it
    assert cookies[COOKIE]["httponly"] and cookies[COOKIE]["samesite"] == "Lax" and cookies[COOKIE]["path"] == "/"
    assert not cookies[COOKIE]["max-age"] and not cookies[COOKIE]["expires"]  # ends with the browser session
    assert cookies[TAG_COOKIE]["value"] == workspace_tag(store, token) and not cookies[TAG_COOKIE]["httponly"]
    assert token.split(".")[0] not in cookies[TAG_COOKIE]["value"]
    again = client.get("/")  # another tab of the same browser
    assert again.text == token and "Set-Cookie" not in again.headers


def test_tabs_of_one_browser_share_uploads_and_other_browsers_see_none(store, settings):
    server = _server(store, settings)
    browser, other = server.test_client(), server.test_client()
    token = browser.get("/").text
    body = _page_upload(browser)
    assert "error" not in body and store.info(token, body["id"]).name == "mine.csv"
    assert store.list(token)[0].id == body["id"]
    stranger = other.get("/").text
    assert stranger != token and store.list(stranger) == []
    with pytest.raises(Exception, match="not available in this session"):
        store.info(stranger, body["id"])


def test_a_forged_cookie_is_replaced_and_uploads_need_the_pages_header(store, settings):
    client = _server(store, settings).test_client()
    real = client.get("/").text
    sid, _signature = real.split(".")
    client.set_cookie(COOKIE, f"{sid}.{'0' * 32}")
    fresh = client.get("/")
    assert fresh.text not in (real, f"{sid}.{'0' * 32}") and _set_cookies(fresh)[COOKIE]["value"] == fresh.text
    # A form posted by another site carries no X-Auditapp-Upload header: the cookie alone is not enough.
    refused = _page_upload(client, from_page=False)
    assert "session" in refused["error"] and store.list(fresh.text) == []
    cookieless = _server(store, settings).test_client(use_cookies=False)
    assert "Allow cookies for this site" in _page_upload(cookieless)["error"]


def test_logging_in_starts_a_new_workspace_and_logging_out_ends_it(store, settings):
    users = {"ana": auth.hash_password("pw", iterations=1_000), "bo": auth.hash_password("pw2", iterations=1_000)}
    client = _server(store, settings, users).test_client()
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 303  # not logged in: no workspace
    assert client.get_cookie(COOKIE) is None
    client.post("/login", data={"user": "ana", "password": "pw"})
    ana = client.get_cookie(COOKIE).value
    assert client.get("/").text == ana
    body = _page_upload(client)
    logout = client.post("/logout")
    assert _set_cookies(logout)[COOKIE]["value"] == "" and client.get_cookie(COOKIE) is None
    client.post("/login", data={"user": "bo", "password": "pw2"})
    bo = client.get("/").text
    assert bo != ana and store.list(bo) == [] and store.info(ana, body["id"]).name == "mine.csv"
