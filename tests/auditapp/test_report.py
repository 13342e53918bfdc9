"""The HTML report: numbers of the results, escaping, self-containment, and a real browser."""

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.figures.metrics import group_table_rows
from auditapp.figures.report import verdict_figure
from auditapp.policy.criteria import preset
from auditapp.reporting.gate import assess
from auditapp.reporting.report import TABLE_METRICS, build_report, write_report

NASTY_COLUMN = "<script>window.pwned=1</script>"
NASTY_VALUE = '<img src="x" onerror="window.pwned=2">'


@pytest.fixture(scope="module")
def audited():
    rng = np.random.default_rng(5)
    n = 1200
    group = rng.choice(["plain", NASTY_VALUE], n, p=[0.6, 0.4])
    region = rng.choice(["north", "south"], n)
    y = rng.binomial(1, 0.5, n)
    score = np.clip(rng.normal(np.where(group == "plain", 0.55, 0.42) + 0.1 * y, 0.2), 0, 1)
    frame = pd.DataFrame({NASTY_COLUMN: group, "region": region, "hired": y, "score": score})
    spec = AuditSpec(target="hired", sensitive=(NASTY_COLUMN, "region"), score="score", n_boot=100)
    audit = run_audit(frame, spec)
    outcome = assess(audit, preset("four-fifths"),
                     dataset_info={"name": "data<1>.csv", "sha256": "f" * 64, "rows": n, "columns": []},
                     model_info=None, timestamp="2026-01-01T00:00:00+00:00")
    text = build_report(audit, record=outcome.record, evaluation=outcome.evaluation,
                        findings=outcome.findings)
    return audit, outcome, text


def _without_plotly_bundle(text: str) -> str:
    from auditapp.figures.bundle import plotly_js

    bundle = plotly_js()  # the cartesian partial bundle when installed, else plotly.py's full one
    assert text.count(bundle) == 1
    return text.replace(bundle, "")


def test_report_contains_the_numbers_of_every_group_table(audited):
    audit, _, text = audited
    for grouping in audit.result.groupings:
        for row in group_table_rows(grouping, TABLE_METRICS):
            assert f"<td>{html.escape(row['group'])}</td><td class=\"num\">{row['n']}</td>" in text
            for metric in TABLE_METRICS:
                assert f"<td>{html.escape(row[metric])}</td>" in text


def test_report_contains_the_verdict_board_and_every_finding(audited):
    _, outcome, text = audited
    icon, word = {"pass": ("✔", "PASS"), "fail": ("✘", "FAIL"),
                  "inconclusive": ("?", "INCONCLUSIVE")}[outcome.evaluation.overall]
    assert re.search(rf'<div id="overall-verdict"><span class="verdict [a-z]+ overall-badge">'
                     rf"{re.escape(icon)} {word}</span></div>", text)
    assert outcome.findings
    for finding in outcome.findings:
        assert html.escape(finding.text) in text


def test_report_makes_no_external_reference_and_forbids_network_requests(audited):
    _, _, text = audited
    rest = _without_plotly_bundle(text)
    # plotly.js itself (embedded unchanged, once) holds map-attribution links as string literals;
    # everything else in the file has no URL at all, and the browser test shows no request is made.
    assert not re.search(r"https?://", rest)
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", rest)
    assert "default-src 'none'" in rest and "connect-src 'none'" in rest


def test_user_strings_are_escaped_everywhere(audited):
    _, _, text = audited
    rest = _without_plotly_bundle(text)
    assert NASTY_COLUMN not in rest and NASTY_VALUE not in rest
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in rest
    assert "data&lt;1&gt;.csv" in rest
    # every <script> element is ours: plotly.js, one per figure, the record, the print helper
    scripts = re.findall(r"<script[^>]*>", rest)
    assert set(scripts) <= {"<script>", '<script type="application/json" id="audit-record">'}


def test_the_embedded_record_reads_back_identical(audited):
    _, outcome, text = audited
    match = re.search(r'<script type="application/json" id="audit-record">(.*?)</script>', text, re.S)
    assert json.loads(match.group(1)) == json.loads(json.dumps(outcome.record))


def test_report_has_charts_for_every_grouping_and_the_scores(audited):
    audit, outcome, text = audited
    n_groupings = len(audit.result.groupings)
    assert len(re.findall(r'id="grouping-\d+-figure-\d+"', text)) >= 2 * n_groupings
    assert 'id="roc-0"' in text and 'id="calibration-1"' in text
    assert 'id="verdict-figure-0"' in text
    assert "@media print" in text


def test_report_without_policy_says_so(audited):
    audit, outcome, _ = audited
    text = build_report(audit, record=outcome.record)
    assert "No policy was checked" in text and 'id="overall-verdict"' not in text


def test_write_report_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    write_report(target, "<html>new</html>")
    assert target.read_text(encoding="utf-8") == "<html>new</html>"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_verdict_figure_shows_each_verdict_by_shape_and_word(audited):
    _, outcome, _ = audited
    fig = verdict_figure(outcome.evaluation, "four-fifths rule")
    names = {trace.name for trace in fig.data}
    verdicts = {v.verdict for v in outcome.evaluation.verdicts if v.verdict != "not_evaluable"}
    words = {"pass": "✔ pass", "fail": "✘ fail", "inconclusive": "? inconclusive"}
    assert names == {words[v] for v in verdicts}
    assert sum(len(trace.x) for trace in fig.data) == sum(
        v.verdict != "not_evaluable" for v in outcome.evaluation.verdicts)
    assert any(shape.x0 == 0.8 for shape in fig.layout.shapes)


def test_verdict_figure_rejects_an_unknown_criterion(audited):
    _, outcome, _ = audited
    with pytest.raises(AuditInputError, match="no criterion 'gap'. Its criteria: four-fifths rule"):
        verdict_figure(outcome.evaluation, "gap")


@pytest.mark.browser
def test_report_opens_offline_in_chromium_without_requests_or_errors(audited, tmp_path):
    from playwright.sync_api import sync_playwright

    _, outcome, text = audited
    path = tmp_path / "report.html"
    write_report(path, text)
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            # Charts are drawn as they come near the screen: jumping to the first one draws it.
            page.evaluate("document.querySelector('.figure').scrollIntoView()")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
            drawn_early = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
            pwned = page.evaluate("typeof window.pwned")
            board = page.inner_text("#overall-verdict")
            page.emulate_media(media="print")
            page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
            plots = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
            opened = page.evaluate("document.querySelector('#record details').open")
        finally:
            browser.close()
    assert requests == [path.as_uri()]
    assert errors == []
    # Printing draws every chart, including the ones never scrolled to.
    assert 0 < drawn_early < plots == len(re.findall(r'<div class="figure"', text))
    assert pwned == "undefined"
    assert board.strip().split(" ", 1)[1] == outcome.evaluation.overall.upper()
    assert opened is True
