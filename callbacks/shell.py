"""The app frame: a fresh session token for every new browser tab."""

from __future__ import annotations

from layouts.shell import shell


def make_layout(store, initial_state):
    """A layout function: each page load gets a new signed token; an existing tab keeps its own."""

    def layout():
        return shell(session_token=store.new_session(), initial_state=initial_state)

    return layout
