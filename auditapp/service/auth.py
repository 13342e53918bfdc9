"""Optional login for hosted use, in front of every page and route (see :mod:`auditapp.service.login`).

Configure one user with ``AUDITAPP_BASIC_AUTH="user:password"``, or several with
``AUDITAPP_USERS_FILE`` (one ``user:password`` or ``user:pbkdf2:<iterations>:<salt>:<hash>`` line
each; ``python -m auditapp.service.auth USER`` prints a hashed line). Browsers log in once on ``/login`` and
keep a signed session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS); CLI-style clients may send
basic authentication with every request. Serve over HTTPS. Without either variable the app is open
(the laptop default).
"""

from __future__ import annotations

import getpass
import html
import math
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

from auditapp.core.errors import AuditInputError
from auditapp.service.login import COOKIE, SESSION_SECONDS, Login, hash_password

__all__ = ["hash_password", "install", "load_users"]
LOGIN_PATH, LOGOUT_PATH = "/login", "/logout"
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in · auditapp</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:12vh auto;padding:0 1rem;color:#222}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.45rem;font-size:1rem;box-sizing:border-box}}
button{{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem}}.note{{color:#b00020}}
:focus-visible{{outline:3px solid #0b5cad;outline-offset:2px}}</style></head>
<body><main><h1>auditapp</h1><p class="note" role="alert">{message}</p>
<form method="post" action="{action}" aria-label="Log in"><input type="hidden" name="next" value="{next}">
<label for="user">User name</label><input id="user" name="user" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password"
autocomplete="current-password" required><button type="submit">Log in</button></form></main></body></html>"""


def load_users(*, basic_auth: str | None = None, users_file: str | None = None) -> dict[str, str]:
    """User name → stored password (plain or pbkdf2) from the settings; empty when login is off.

    Raises
    ------
    AuditInputError
        If ``basic_auth`` has no ``:``, or the users file is missing or has a line without ``:``.
    """
    users: dict[str, str] = {}
    if basic_auth:
        user, sep, password = basic_auth.partition(":")
        if not sep or not user or not password:
            raise AuditInputError("AUDITAPP_BASIC_AUTH must look like 'user:password', but has no user, "
                                  "':' or password. Set it like that, or unset it to turn login off.")
        users[user] = password
    if users_file:
        path = Path(users_file)
        if not path.is_file():
            raise AuditInputError(f"AUDITAPP_USERS_FILE points to {users_file!r}, which is not a file. "
                                  "Create it (one 'user:password' line per user) or unset the variable.")
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, sep, stored = line.strip().partition(":")
            if not sep or not user or not stored:
                raise AuditInputError(f"Line {number} of {users_file} is not 'user:password'. Fix or delete it.")
            users[user] = stored
    return users


def _safe_next(target: str | None) -> str:
    """A same-site path to return to after logging in (never another site: no open redirect)."""
    target = target or "/"
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or "\\" in target or parts.scheme or parts.netloc:
        return "/"
    return target


def install(server, users: dict[str, str], *, secret: bytes | None = None, proxies: int = 0,
            failures=None, session_seconds: int = SESSION_SECONDS) -> Login | None:
    """Ask every request to ``server`` (a Flask app) for a login by one of ``users``.

    Parameters
    ----------
    server : flask.Flask
    users : dict
        From :func:`load_users`; empty turns login off.
    secret : bytes, optional
        Signs session cookies; pass one shared by every web process (the artifact store's). Without
        it a random one is used, and sessions last only as long as this process.
    proxies : int, optional
        Reverse proxies in front of the app (``AUDITAPP_TRUSTED_PROXIES``, default 0): the client address
        that failed logins are counted by is then read from ``X-Forwarded-For``.
    failures : callable, optional
        Where failed logins are counted (the artifact store's ``recent_failures``, so that every web
        process throttles together); without it each process counts its own.
    session_seconds : int, default 12 hours
        How long a login lasts (``AUDITAPP_LOGIN_SECONDS`` through ``Settings``).
    """
    if not users:
        return None
    import secrets

    from flask import Response, g, redirect, request

    hops = proxies
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops)
    login = Login(users, secret=secret or secrets.token_bytes(32), failures=failures,
                  session_seconds=session_seconds)

    def page(message: str, status: int, target: str = "/", headers: dict | None = None) -> Response:
        body = _PAGE.format(message=html.escape(message), action=LOGIN_PATH, next=html.escape(_safe_next(target)))
        return Response(body, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                                       **(headers or {})})

    def too_many(wait: float, *, form: bool) -> Response:
        seconds = str(max(1, math.ceil(wait)))
        message = (f"Too many failed logins from here or for this user name. Try again in {seconds} seconds.")
        if form:
            return page(message, 429, request.form.get("next", "/"), {"Retry-After": seconds})
        return Response(message, 429, {"Retry-After": seconds})

    def challenge() -> Response:
        return Response("Log in to use auditapp.", 401, {"WWW-Authenticate": 'Basic realm="auditapp"'})

    def wants_page() -> bool:
        accept = request.accept_mimetypes
        return request.method == "GET" and accept.accept_html and accept["text/html"] >= accept["*/*"]

    @server.route(LOGIN_PATH, methods=["GET", "POST"])
    def login_page():
        if request.method == "GET":
            return page("", 200, request.args.get("next", "/"))
        origin = request.headers.get("Origin")
        if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
            return page("This login form was sent from another site. Open the app's own login page.", 403)
        user, password = request.form.get("user", ""), request.form.get("password", "")
        outcome = login.check(user, password, request.remote_addr or "?")
        if outcome.retry_after:
            return too_many(outcome.retry_after, form=True)
        if outcome.user is None:
            return page("Wrong user name or password.", 401, request.form.get("next", "/"))
        g.auditapp_login = outcome.user
        return redirect(_safe_next(request.form.get("next")), 303)

    @server.route(LOGOUT_PATH, methods=["POST"])
    def logout_page():
        response = redirect(LOGIN_PATH, 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @server.before_request
    def _require_login():
        if request.path == LOGIN_PATH:
            return None
        if login.cookie_user(request.cookies.get(COOKIE)):
            return None
        header = request.headers.get("Authorization")
        outcome = login.check_basic(header, request.remote_addr or "?")
        if outcome.retry_after:
            return too_many(outcome.retry_after, form=False)
        if outcome.user is not None:
            g.auditapp_login = outcome.user
            return None
        if not header and wants_page():
            return redirect(f"{LOGIN_PATH}?next={quote(request.full_path.rstrip('?'), safe='/?=&')}", 303)
        return challenge()

    @server.after_request
    def _keep_session(response):
        user = g.pop("auditapp_login", None)
        if user is not None:
            secure = request.is_secure or request.headers.get("X-Forwarded-Proto", "") == "https"
            response.set_cookie(COOKIE, login.issue(user), max_age=login.session_seconds, path="/",
                                httponly=True, samesite="Lax", secure=secure)
        return response

    return login


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m auditapp.service.auth USER   (prints a users-file line)")
    print(f"{sys.argv[1]}:{hash_password(getpass.getpass('Password: '))}")
