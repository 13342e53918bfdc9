"""A user whose audit waits for a free slot sees their place in the queue and can cancel it."""

from __future__ import annotations

import contextlib
import threading

import pytest

from auditapp.service.slots import AUDITS, FairQueue
from tests.browser import a11y
from tests.browser.helpers import wait_for_text

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def busy_server(data_dir, sessions):
    """Other users' audits holding the server's slots (through the queue the server's processes share)."""
    queue = FairQueue.for_server(AUDITS, data_dir)
    held, release, threads = [], threading.Event(), []

    def hold(session):
        with queue.slot(session):
            held.append(session)
            release.wait(120)

    for session in sessions:
        threads.append(threading.Thread(target=hold, args=(session,)))
        threads[-1].start()
    try:
        while len(held) < len(sessions):
            release.wait(0.05)
        yield queue
    finally:
        release.set()
        for thread in threads:
            thread.join(30)


def test_a_waiting_audit_shows_its_place_and_can_be_cancelled(page, app_data_dir):
    page.goto("/data")
    wait_for_text(page, "#data-dataset-status", "hiring.csv")
    page.fill("#data-min-group-input", "321")  # settings nobody has audited yet
    page.wait_for_function("() => !document.querySelector('#data-run-button').disabled")
    with busy_server(app_data_dir, ["someone", "someone-else"]):
        page.click("#data-run-button")
        wait_for_text(page, "#app-queue-audit-notice", "Your audit is waiting for a free slot: 2 audits ahead of "
                                                       "yours \\(this server runs 2 at a time\\)")
        # The banner is accessible: its place is a live region, axe finds nothing serious, Cancel works by
        # keyboard, and focus then goes back to a control on the page (not lost to the body).
        assert page.get_attribute("#app-queue-audit-text", "role") == "status"
        assert [v for v in a11y.axe_violations(page) if v["impact"] in a11y.BLOCKING] == []
        page.focus("#app-queue-audit-cancel-button")
        page.keyboard.press("Enter")
        wait_for_text(page, "#data-run-alert", "Your audit was cancelled before it finished; nothing was kept")
        page.wait_for_selector("#app-queue-audit-notice", state="hidden")
        page.wait_for_function("document.activeElement && document.activeElement !== document.body")
    page.click("#data-run-button")
    wait_for_text(page, "#data-run-alert", "Audit ready\\.")
    assert not page.is_visible("#app-queue-audit-notice")
