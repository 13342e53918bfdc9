"""One workspace per browser: a signed workspace token in a cookie, shared by all the browser's tabs.

The token is the artifact store's signed session token (``store.new_session()``): unguessable, checked
with an HMAC on every use, and the key to the uploads and results of that workspace only. It travels
in an HttpOnly, SameSite=Lax cookie without an expiry date, so it lasts as long as the browser
session and every tab of the browser gets the same one; another browser (or a private window) has
its own cookie jar and therefore its own workspace. Each page load hands the token to the page's
callbacks (the shell's session store), and uploads read it from the cookie.

A second cookie, readable by the page's scripts, carries a tag of the workspace (an HMAC of its id,
which tells nothing about the token). The browser keeps the workspace's state (dataset, settings,
checked policy, finished results) in ``localStorage``, shared by its tabs; ``assets/workspace.js``
compares the stored tag with the cookie's and starts from a clean state when the workspace changed
(a new browser session, a login or a logout).

Logging in starts a new workspace and logging out ends it, so a shared computer never hands one
user's uploads to the next.
"""

from __future__ import annotations

import hashlib
import hmac

from auditapp.service.store_cache import SessionError

COOKIE = "auditapp_workspace"
TAG_COOKIE = "auditapp_workspace_tag"
UPLOAD_HEADER = "X-Auditapp-Upload"  # scripts of the page set it; other sites cannot without CORS


def workspace_tag(store, token: str) -> str:
    """A public tag of the workspace: the same for its tabs, different for every other workspace."""
    sid = store.session_id(token)
    return hmac.new(store.signing_key("workspace-tag"), sid.encode(), hashlib.sha256).hexdigest()[:24]


def valid_token(store, token: str | None) -> str | None:
    """``token`` when it is a workspace token this server signed, else None."""
    try:
        store.session_id(token)
    except SessionError:
        return None
    return token


def current_token(store) -> str:
    """The workspace token of this request (a new one outside a request or when none was set up)."""
    try:
        from flask import g

        token = g.get("auditapp_workspace")
    except RuntimeError:  # outside a request
        token = None
    return token or store.new_session()


def install(server, store, *, login_path: str = "/login", logout_path: str = "/logout") -> None:
    """Give every browser one workspace cookie (see the module docstring)."""
    from flask import g, request

    @server.before_request
    def _workspace():
        token = valid_token(store, request.cookies.get(COOKIE))
        g.auditapp_workspace_new = token is None
        g.auditapp_workspace = token or store.new_session()

    @server.after_request
    def _keep_workspace(response):
        posted = request.method == "POST" and response.status_code in (302, 303)
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto", "") == "https"
        if posted and request.path == logout_path:
            response.delete_cookie(COOKIE, path="/")
            response.delete_cookie(TAG_COOKIE, path="/")
            return response
        token = g.get("auditapp_workspace")
        if posted and request.path == login_path:
            token = store.new_session()  # a fresh workspace for whoever just logged in
        elif not g.get("auditapp_workspace_new"):
            return response
        if token is None:  # refused before the workspace was set up (e.g. not logged in)
            return response
        response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="Lax", secure=secure)
        response.set_cookie(TAG_COOKIE, workspace_tag(store, token), path="/", httponly=False, samesite="Lax",
                            secure=secure)
        return response
