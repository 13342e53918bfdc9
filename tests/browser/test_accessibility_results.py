"""WCAG 2.1 AA on the pages that produce results, and in the report they feed (issue 20).

Compliance, Mitigation, Feedback loops and Policy & report: axe-core (wcag2a/wcag2aa/wcag21a/wcag21aa)
finds nothing critical or serious before and after each page's main action; every form control's
accessible name contains its visible label; the page is walked by Tab only (every control reached, focus
visible, a grid one Tab stop, no trap); charts carry their text; nothing scrolls sideways at 320 px or
at 200% zoom.
The page's main action is done by keyboard where a user would (radios, buttons, dropdowns).
One browser context walks the pages in turn, so the report downloaded at the end holds every section.
"""

from __future__ import annotations

import html

import pytest

from auditapp.service.compliance_report import NOT_RUN_TEXT
from auditapp.service.report_sections import NOT_RUN
from tests.browser import a11y
from tests.browser.test_accessibility import (
    _charts_have_text,
    _names,
    _problems,
    _reflows,
    _walk,
    sized_page,  # noqa: F401, F811  (a fixture)
)

pytestmark = pytest.mark.browser


def _press(page, selector: str, key: str = "Enter") -> None:
    page.focus(selector)
    page.keyboard.press(key)


def _choose_pack(page, value: str) -> None:
    """Choose a pack by keyboard: Space on its radio checks it."""
    page.focus(f"#compliance-pack-radio input[value={value}]")
    page.keyboard.press("Space")
    page.wait_for_selector(f"#compliance-pack-radio input[value={value}]:checked")


def _compliance(page) -> None:
    page.goto("/compliance")
    page.wait_for_selector("#compliance-ll144-race-grid .ag-row[row-id='black']")
    a11y.settle(page)
    _check(page, "before")
    _press(page, "#compliance-ll144-unmapped-checklist input", "Space")
    page.fill("#compliance-ll144-source-input", "historical data: the hiring demo")
    _press(page, "#compliance-ll144-run-button")
    a11y.wait_for_text(page, "#compliance-ll144-tables", "Impact ratio")
    a11y.settle(page)
    _check(page, "after LL144")
    _charts_have_text(page)
    for pack, button, ready in (("ug", "#compliance-ug-run-button", "#compliance-ug-grid"),
                                ("fl", "#compliance-fl-run-button", "#compliance-fl-air-grid"),
                                ("eu", "#compliance-eu-run-button", "#compliance-eu-grid")):
        _choose_pack(page, pack)
        page.wait_for_selector(button, state="visible")
        _press(page, button)
        page.wait_for_function(f"document.querySelectorAll('{ready} .ag-center-cols-container .ag-row').length > 0")
        a11y.settle(page)
        _check(page, f"after {pack}")
    _walk(page)


def _policy(page) -> None:
    a11y.open_page(page, "/policy")
    _check(page, "before")
    # (Choosing from a dropdown by keyboard is walked in test_accessibility.py.)
    page.click("#policy-preset-dropdown")
    page.locator(".dash-dropdown-content [role=option]", has_text="equalized-odds").first.click()
    page.wait_for_function("""() => [...document.querySelectorAll('#policy-criteria-div input')]
                                    .some(i => i.value === 'true positive rate gap')""")
    # The list closed for good: no menu left open, nor its focus guards at both ends of the page.
    page.wait_for_function("() => !document.querySelector('.dash-dropdown-content, [data-radix-focus-guard]')",
                           timeout=10_000)
    a11y.settle(page)
    _check(page, "after")
    _charts_have_text(page)
    _walk(page)


def _check(page, when: str) -> None:
    assert _problems(a11y.axe_violations(page)) == [], f"axe, {page.url} {when}"
    _names(page)
    _reflows(page)


def _action_page(page, path: str) -> None:
    a11y.open_page(page, path)
    _check(page, "before")
    a11y.main_action(page, path)
    _check(page, "after")
    _charts_have_text(page)
    _walk(page)


def _draw_every_chart(page) -> None:
    """The report draws a chart when it scrolls near; draw them all, and wait until each is named."""
    page.wait_for_function("typeof window.auditappDrawAll === 'function'")
    page.evaluate("window.auditappDrawAll()")
    page.wait_for_function("""() => document.querySelectorAll('.js-plotly-plot').length > 0 &&
        document.querySelectorAll('.js-plotly-plot').length ===
        document.querySelectorAll('.js-plotly-plot .main-svg[role=img]').length""")


def test_result_pages_and_the_report_they_feed_are_accessible(page, sized_page, tmp_path):  # noqa: F811
    _compliance(page)
    _action_page(page, "/mitigation")
    _action_page(page, "/feedback")
    _policy(page)

    report = a11y.download_report(page, tmp_path)
    text = report.read_text(encoding="utf-8")
    for section in ("compliance", "mitigations", "feedback", "verdict"):
        assert f'<section id="{section}"' in text, section
    # Each of these sections holds its results, not its "not run" note.
    for note in (NOT_RUN["mitigations"], NOT_RUN["feedback"], NOT_RUN_TEXT):
        assert html.escape(note) not in text, note
    page.goto(report.as_uri())
    _draw_every_chart(page)
    assert _problems(a11y.axe_violations(page)) == [], "axe, the downloaded report"
    narrow = sized_page(320, 640)
    narrow.goto(report.as_uri())
    _draw_every_chart(narrow)
    wide = narrow.evaluate("""() => Array.from(document.querySelectorAll('body *')).filter(
        e => e.getBoundingClientRect().right > 321 && !(e.parentElement && e.parentElement.closest('.table-scroll, .js-plotly-plot'))).slice(0, 8).map(e => e.tagName + '.' + e.className
        + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.textContent || '').slice(0, 40))""")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 320, wide
    regions = narrow.evaluate("""() => Array.from(document.querySelectorAll('table')).map(t => {
        const box = t.closest('[role=region]');
        return box ? [box.tabIndex, box.getAttribute('aria-label')] : [null, t.outerHTML.slice(0, 80)];
    })""")
    assert regions and all(index == 0 and name for index, name in regions), regions
    assert _problems(a11y.axe_violations(narrow)) == [], "axe, the downloaded report at 320 px"
