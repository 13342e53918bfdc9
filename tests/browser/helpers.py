"""Small helpers shared by the browser tests."""

from __future__ import annotations

import re


def upload(page, zone_id: str, path) -> None:
    """Choose a file through an upload zone, as a user would."""
    with page.expect_file_chooser() as chooser:
        page.click(f"#{zone_id}")
    chooser.value.set_files(str(path))


def grid_text(page, grid_id: str) -> str:
    """Visible text of an AG Grid's body."""
    return page.inner_text(f"#{grid_id} .ag-body")


def wait_for_text(page, selector: str, pattern: str, timeout: int = 30_000) -> str:
    """Wait until the element's text matches ``pattern`` (a regex) and return the text."""
    page.wait_for_function(
        "([sel, pat]) => { const el = document.querySelector(sel); return el && new RegExp(pat).test(el.innerText); }",
        arg=[selector, pattern], timeout=timeout)
    return page.inner_text(selector)


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def number_in(text: str) -> list[str]:
    return re.findall(r"\d+\.\d%", text)
