"""Waiting on an event with a deadline (never a bare sleep that hopes the event happened)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "the condition",
             poll: float = 0.05) -> None:
    """Return as soon as ``condition()`` is true; fail naming ``what`` if it is not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(poll)
