"""Small helpers shared by the browser tests."""

from __future__ import annotations

import re


def upload(page, zone_id: str, path) -> None:
    """Choose a file through an upload zone, as a user would."""
    with page.expect_file_chooser() as chooser:
        page.click(f"#{zone_id}")
    chooser.value.set_files(str(path))


def grid_text(page, grid_id: str) -> str:
    """Visible text of an AG Grid's body, scrolled into view as a reader would (AG Grid's wrapper has
    ``content-visibility: auto``, so a grid below the fold has no rendered text until it is near the screen)."""
    page.locator(f"#{grid_id}").scroll_into_view_if_needed()
    return page.inner_text(f"#{grid_id} .ag-body")


def wait_for_text(page, selector: str, pattern: str, timeout: int = 30_000) -> str:
    """Wait until the element's text matches ``pattern`` (a regex) and return the text."""
    # Scrolled into view as a reader would: content below the fold may have no rendered text
    # (``content-visibility: auto``) until it nears the screen.
    # The text returned is the one that matched: read again later, a grid scrolled off screen by a chart
    # drawn above it would have none.
    matched = page.wait_for_function(
        """([sel, pat]) => { const el = document.querySelector(sel); if (!el) return false;
             if (new RegExp(pat).test(el.innerText)) return {text: el.innerText};
             el.scrollIntoView({block: "nearest"}); return false; }""",
        arg=[selector, pattern], timeout=timeout)
    return matched.json_value()["text"]


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def number_in(text: str) -> list[str]:
    return re.findall(r"\d+\.\d%", text)


def use_suggestion(page, hint_id: str) -> None:
    """Press "Use it" on the suggestion shown under a field of the Data & model page."""
    page.click(f"#{hint_id} button")
    page.wait_for_selector(f"#{hint_id} button", state="detached")


def run_enabled(page) -> bool:
    """Whether the Data & model page's Run audit button can be pressed."""
    return page.evaluate("() => !document.querySelector('#data-run-button').disabled")


def wait_until_ready(page) -> None:
    """Wait until every choice is made and Run audit is enabled."""
    page.wait_for_function("() => !document.querySelector('#data-run-button').disabled")


def choose(page, dropdown_id: str, label: str) -> None:
    """Open a dropdown and pick the option labelled ``label`` (exactly), as a user would."""
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=label, exact=True).click()
    page.keyboard.press("Escape")


def choose_only(page, names) -> None:
    """Tick exactly the Mitigation page's candidates in ``names`` (the enabled ones), as a user would."""
    boxes = page.locator("#mitigation-candidates-checklist input[type=checkbox]")
    for index in range(boxes.count()):
        box = boxes.nth(index)
        if box.is_enabled() and box.is_checked() != (box.get_attribute("value") in names):
            box.click()
