"""Accessibility checks shared by the browser tests: axe-core, each page's main action, Tab walks.

axe-core comes from the npm registry (``tests/browser/package.json``, installed by ``make test``).
``python -m tests.browser.a11y URL`` prints the axe counts per page, before and after each page's
main action and on the downloaded report, for a running app (the issue's before/after figures).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING = ("critical", "serious")
PAGES = ("/data", "/", "/thresholds", "/explain", "/mitigation", "/feedback", "/policy", "/compliance", "/tasks")
NARROW = (320, 640)  # WCAG 1.4.10: content reflows at 320 CSS px without scrolling sideways
ZOOMED = (640, 450)  # a 1280 x 900 window at 200% zoom


def axe_script() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `npm ci --prefix tests/browser` (make test does).")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now: id, impact, nodes (selectors + why)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_script())
    return page.evaluate(
        """async (tags) => {
            // Bounded: page.evaluate has no timeout, so a stalled run fails in 120 s instead of hanging.
            const result = await Promise.race([
                axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}),
                new Promise((_, fail) => setTimeout(() => fail(new Error('axe.run took over 120 s')), 120000))]);
            return result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(
                n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}));
        }""", list(WCAG_TAGS))


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def count(violations: list[dict]) -> int:
    """Number of failing elements of critical or serious rules."""
    return sum(len(v["nodes"]) for v in blocking(violations))


# Two animation frames, or half a second if the tab does not paint (a page that is not painted gets no
# frames, and page.evaluate has no timeout of its own, so an unbounded wait here could hang a walk).
TWO_FRAMES = """() => new Promise(done => {
    setTimeout(done, 500);
    requestAnimationFrame(() => requestAnimationFrame(done));
})"""


def two_frames(page) -> None:
    page.evaluate(TWO_FRAMES)


def settle(page) -> None:
    """Wait until Dash has no callback in flight and the loading spinners are gone."""
    page.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=true], ._dash-loading, .dash-spinner')")
    # A grid is built once the page's first chart is drawn (assets/lazy-grid.js): until then it is a busy box.
    page.wait_for_function("() => !document.querySelector('.auditapp-grid [aria-busy=true]')")
    # ...and AG Grid keeps a grid's cells hidden (``ag-delay-render``) until it has measured rows of
    # wrapped text, which it does only once the grid is near the screen: bring each such grid on screen
    # until it is revealed, then scroll back to where the reader was.
    page.wait_for_function("""() => {
        const waiting = [...document.querySelectorAll('.ag-delay-render')].find(g => g.getClientRects().length);
        if (!waiting) { if (window.__a11yScroll !== undefined) { window.scrollTo(0, window.__a11yScroll);
                                                              delete window.__a11yScroll; }
                        return true; }
        if (window.__a11yScroll === undefined) { window.__a11yScroll = window.scrollY; }
        waiting.scrollIntoView({block: "nearest"});
        return false; }""", timeout=15_000)
    # The accessibility scripts fix up new elements on the next animation frame: let two frames pass.
    two_frames(page)


def wait_for_text(page, selector: str, pattern: str, timeout: int = 60_000) -> None:
    page.wait_for_function(
        "([sel, pat]) => { const el = document.querySelector(sel); return el && new RegExp(pat).test(el.textContent); }",
        arg=[selector, pattern], timeout=timeout)


def control(name: str) -> str:
    """CSS selector of a feedback control (Dash writes pattern-matching ids as sorted JSON)."""
    key = json.dumps({"name": name, "type": "feedback-control"}, separators=(",", ":"))
    return f"[id='{key}']"


def open_page(page, path: str) -> None:
    page.goto(path)
    ready = {
        "/data": ("#data-dataset-status", "hiring.csv"),
        "/": ("#metrics-summary-list", "female"),
        "/thresholds": ("#threshold-value-text", "0\\.50"),
        "/explain": ("#explain-compute-button", "Compute"),
        "/mitigation": ("#mitigation-context-text", "5,000 rows"),
        "/feedback": ("#feedback-run-button", "Run"),
        "/policy": ("#policy-overall-verdict", "."),
        "/compliance": ("#compliance-ll144-race-grid .ag-body", "black"),
        "/tasks": ("#task-scenario-button", "."),
    }[path]
    wait_for_text(page, *ready)
    settle(page)


def main_action(page, path: str) -> None:
    """Do the page's main action with the keyboard-free API a user's click would use, and wait for it."""
    if path == "/data":
        page.click("#data-run-button")
        wait_for_text(page, "#data-run-alert", "Audit ready")
    elif path == "/":
        page.click("#metrics-grouping-dropdown")
        page.locator(".dash-dropdown-content [role=option]", has_text="×").first.click()
        wait_for_text(page, "#metrics-bar-graph .gtitle", "×")
    elif path == "/thresholds":
        page.locator("#threshold-value-slider [role=slider]").first.focus()
        page.keyboard.press("ArrowRight")
        wait_for_text(page, "#threshold-value-text", "0\\.51")
    elif path == "/explain":
        page.fill("#explain-rows-input", "100")
        page.click("#explain-compute-button")
        wait_for_text(page, "#explain-status-text", "computed with 100 rows per group")
        wait_for_text(page, "#explain-gap-text", "The biggest step is")
    elif path == "/mitigation":
        boxes = page.locator("#mitigation-candidates-checklist input[type=checkbox]")
        page.wait_for_selector("#mitigation-candidates-checklist input[value=grid_search]:checked")
        keep = ("baseline", "reweighing")  # not the mitigation tests' set: theirs must not be cached
        for index in range(boxes.count()):
            box = boxes.nth(index)
            if box.is_enabled() and box.is_checked() != (box.get_attribute("value") in keep):
                box.click()
        page.click("#mitigation-run-button")
        page.wait_for_selector("#mitigation-results-container", state="visible", timeout=60_000)
        wait_for_text(page, "#mitigation-table-grid .ag-body", "Reweighing")
    elif path == "/feedback":
        page.fill(control("policing:steps"), "300")
        page.fill(control("policing:runs"), "5")
        page.click("#feedback-run-button")
        wait_for_text(page, "#feedback-summary-list", "After 300 days")
    elif path == "/policy":
        page.click("#policy-preset-dropdown")
        page.locator(".dash-dropdown-content [role=option]", has_text="equalized-odds").first.click()
        page.wait_for_function("""() => [...document.querySelectorAll('#policy-criteria-div input')]
                                        .some(i => i.value === 'true positive rate gap')""")
    elif path == "/compliance":  # the LL144 bias audit of the demo
        page.check("#compliance-ll144-unmapped-checklist input")
        page.fill("#compliance-ll144-source-input", "historical data: the hiring demo")
        page.click("#compliance-ll144-run-button")
        wait_for_text(page, "#compliance-ll144-tables", "Impact ratio")
    elif path == "/tasks":  # the listing-price scenario, audited as a regression
        page.click("#task-scenario-button")
        wait_for_text(page, "#task-alert", "Loaded the listing-price scenario")
        page.click("#task-run-button")
        wait_for_text(page, "#task-context", "Regression audit of 4,000 rows")
        wait_for_text(page, "#task-table .ag-body", "B")
    settle(page)


def login_pages() -> list[str]:
    """The login page as served: empty, and after a refused password (with its message)."""
    from flask import Flask

    from auditapp.service import auth

    server = Flask("login-a11y")
    auth.install(server, {"ana": "pw"}, secret=b"k" * 32)
    client = server.test_client()
    return [client.get("/login").get_data(as_text=True),
            client.post("/login", data={"user": "ana", "password": "no"}).get_data(as_text=True)]


def scrolls_sideways(page, size: tuple[int, int]) -> int:
    """At viewport ``size``, how many CSS px the page is wider than the screen (0: it reflows).

    The viewport goes back to what it was afterwards.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = page.viewport_size
    page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        # Charts and grids fit themselves to their new width on the next frames: wait for that, bounded.
        try:
            page.wait_for_function(f"document.documentElement.scrollWidth <= {size[0]}", timeout=10_000)
        except PlaywrightTimeout:  # still too wide: the overflow is measured and reported below
            pass
        return max(0, page.evaluate("document.documentElement.scrollWidth") - size[0])
    finally:
        page.set_viewport_size(before)


def download_report(page, folder: Path) -> Path:
    with page.expect_download() as download:
        page.click("#app-report-button")
    path = folder / "report.html"
    download.value.save_as(path)
    return path


def _summary(violations: list[dict]) -> str:
    return ", ".join(f"{v['id']} ({v['impact']}) ×{len(v['nodes'])}" for v in blocking(violations)) or "none"


def main(argv: list[str]) -> int:
    """Print the axe counts per page (critical + serious elements) before and after the main action."""
    import tempfile

    from playwright.sync_api import sync_playwright

    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8050"
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as folder:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=url).new_page()
        page.set_default_timeout(90_000)
        for path in PAGES:
            open_page(page, path)
            before = axe_violations(page)
            main_action(page, path)
            after = axe_violations(page)
            print(f"{path:12} before {count(before):3d}  after {count(after):3d}   "
                  f"[{_summary(before)}] -> [{_summary(after)}]")
        for number, html in enumerate(login_pages()):
            page.set_content(html)
            violations = axe_violations(page)
            print(f"{'login' + ('' if number == 0 else ' (refused)'):12} {count(violations):3d}   "
                  f"[{_summary(violations)}]")
        page.goto("/")
        wait_for_text(page, "#metrics-summary-list", "female")
        report = download_report(page, Path(folder))
        page.goto(report.as_uri())
        violations = axe_violations(page)
        print(f"{'report':12} {count(violations):3d}   [{_summary(violations)}]")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))




FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) { return null; }
    const grid = el.closest('.ag-root-wrapper');
    const owner = grid ? grid.closest('[id]') : null;
    const rect = el.getBoundingClientRect();
    // The focus indicator: on the element, or (an invisible file input) on the box that shows it.
    const ringed = [el, el.parentElement, el.parentElement && el.parentElement.parentElement].some(node => {
        if (!node) { return false; }
        const style = getComputedStyle(node);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    });
    return {tag: el.tagName.toLowerCase(), id: el.id || '', role: el.getAttribute('role') || '',
            text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60),
            grid: owner ? owner.id : '', visible: rect.width > 0 && rect.height > 0, outline: ringed,
            expect: el.getAttribute('data-expect-tab') || '',
            key: el.dataset.walkId = el.dataset.walkId ||
                                     String(window.__walkSeq = (window.__walkSeq || 0) + 1)};
}"""


def tab_walk(page, *, limit: int = 400, backwards: bool = False) -> list[dict]:
    """Press Tab (or Shift+Tab) from the top of the page until focus leaves the page or comes back.

    Returns every focused element in order (see ``FOCUSED``); a keyboard trap shows up as the walk
    reaching ``limit`` without leaving the page.
    """
    # Start where a freshly loaded page starts: focus on the document, before its first element.
    page.evaluate("""() => { const body = document.body; body.setAttribute('tabindex', '-1'); body.focus();
                             body.removeAttribute('tabindex'); window.scrollTo(0, 0); }""")
    stops, seen = [], set()
    for press in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        stop = page.evaluate(FOCUSED)
        if stop is None:
            # A grid moves focus to its cell a frame later (the body holds it meanwhile): look again then.
            two_frames(page)
            stop = page.evaluate(FOCUSED)
        if stop is None and backwards and press == 0:
            # Entering from the end, a grid's bottom focus guard (AG Grid) can hand focus back to the
            # body once before the grid takes it: one such first press is not the end of the walk.
            continue
        if stop is None or stop["key"] in seen:
            return stops
        seen.add(stop["key"])
        stops.append(stop)
    raise AssertionError(f"focus never left the page after {limit} Tab presses: a keyboard trap? "
                         f"last stops: {stops[-5:]}")


MARK_TABBABLE = """() => {
    // Every element a keyboard user must be able to reach with Tab, marked data-expect-tab=i.
    const shown = el => !!el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden';
    const all = document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]');
    const radios = new Set();
    let i = 0;
    const marked = [];
    all.forEach(el => {
        if (el.tabIndex < 0 || el.disabled || el.closest('[hidden], .ag-root-wrapper, .dash-dropdown-content')
            || !shown(el)) { return; }
        if (el.type === 'radio' && el.name) {
            const group = document.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`);
            const stop = Array.from(group).find(r => r.checked) || group[0];
            if (stop !== el || radios.has(el.name)) { return; }
            radios.add(el.name);
        }
        el.setAttribute('data-expect-tab', String(i));
        marked.push({i: String(i++), tag: el.tagName.toLowerCase(), id: el.id,
                     text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)});
    });
    return marked;
}"""

MARK_CONTROLS = """() => {
    // Every visible form control in <main>, with the visible label of its field (if it is in one).
    const shown = el => !!el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden';
    const controls = document.querySelectorAll(
        'main input:not([type=hidden]), main select, main textarea, main button.dash-dropdown, ' +
        'main [role=slider], main [role=progressbar], main [role=grid], main [role=treegrid]');
    const out = [];
    controls.forEach((el, i) => {
        if (!shown(el) || el.closest('.ag-root-wrapper .ag-popup, .ag-floating-filter, .dash-dropdown-content')) {
            return;
        }
        if (el.matches('.ag-root-wrapper input')) { return; }
        const field = el.closest('.auditapp-field');
        const grouped = el.type === 'radio' || el.type === 'checkbox';
        const label = field && !grouped ? field.querySelector(':scope > label, :scope > legend') : null;
        el.setAttribute('data-a11y-check', String(i));
        out.push({i: String(i), tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '',
                  role: el.getAttribute('role') || '', label: label ? label.innerText.trim() : ''});
    });
    document.querySelectorAll('main fieldset.auditapp-field').forEach((el, i) => {
        if (!shown(el)) { return; }
        el.setAttribute('data-a11y-check', 'fieldset-' + i);
        out.push({i: 'fieldset-' + i, tag: 'fieldset', id: el.id, type: '', role: 'group',
                  label: el.querySelector('legend').innerText.trim()});
    });
    return out;
}"""


def accessible_names(page) -> list[dict]:
    """Each visible form control of the page's <main>: its visible label and Chromium's accessible name."""
    controls = page.evaluate(MARK_CONTROLS)
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        for control in controls:
            node = cdp.send("DOM.querySelector", {"nodeId": root,
                                                  "selector": f'[data-a11y-check="{control["i"]}"]'})
            tree = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node["nodeId"], "fetchRelatives": False})
            shown = [n for n in tree["nodes"] if not n.get("ignored")]
            control["rendered"] = bool(shown)  # off-screen content may not be rendered (yet)
            control["name"] = " ".join(str(shown[0].get("name", {}).get("value", "")).split()) if shown else ""
    finally:
        cdp.detach()
    return controls
