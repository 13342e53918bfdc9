"""The app frame: every page load gets its browser's workspace token (see :mod:`callbacks.browser_session`)."""

from __future__ import annotations

from callbacks.browser_session import current_token
from layouts.shell import shell


def make_layout(store, initial_state):
    """A layout function: the page gets the workspace token of its browser (the cookie's)."""

    def layout():
        return shell(session_token=current_token(store), initial_state=initial_state)

    return layout
