"""The app frame: every page load gets its browser's workspace token (see :mod:`callbacks.browser_session`)."""

from __future__ import annotations

from flask import has_request_context, request

from callbacks.browser_session import current_token
from callbacks.first_view import initial_page, last_state
from layouts.shell import shell


def make_layout(store, initial_state):
    """A layout function: the page gets the workspace token of its browser (the cookie's)."""

    def layout():
        token = current_token(store)
        # The workspace's state as this server last saw it (its browser keeps it; the demo's for a new one):
        # the page is drawn for it, and a browser that holds another state redraws the page for its own.
        state = last_state(token, initial_state)
        page = None
        if has_request_context():  # the page the browser shows, drawn with the layout (callbacks.first_view)
            page = initial_page(request.referrer, token, state)
        return shell(session_token=token, initial_state=state, page=page)

    return layout
