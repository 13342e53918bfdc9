"""Policy & report page: presets, a custom criterion, and the Download report action from another page."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from auditapp.audit import run_audit
from auditapp.findings import build_findings
from auditapp.models import load_model
from auditapp.policy import Criterion, Policy, dump_policy, preset
from auditapp.policy_forms import verdict_mark
from auditapp.spec import AuditSpec
from auditapp.verdicts import evaluate_policy
from tests.browser.helpers import percent, wait_for_text

pytestmark = pytest.mark.browser

OVERALL = "#policy-overall-verdict"


@pytest.fixture(scope="module")
def demo_audit(app_data_dir):
    """The audit the app shows for the preloaded hiring demo, computed by the engine here."""
    folder = app_data_dir / "scenarios" / "hiring"
    frame = pd.read_csv(folder / "hiring.csv")
    spec = AuditSpec(target="hired", favorable=1, sensitive=("sex", "ethnicity"), reference={"sex": "male"})
    return run_audit(frame, spec, load_model(folder / "hiring_model.skops"))


def _overall_text(audit, policy) -> tuple[str, str]:
    evaluation = evaluate_policy(audit.result, policy)
    findings = build_findings(evaluation, audit.result, outcome="hired = 1")
    return verdict_mark(evaluation.overall), findings[0].text


def _wait_for_demo_policy(page, audit) -> None:
    """The hiring demo starts with the four-fifths rule checked."""
    _, sentence = _overall_text(audit, preset("four-fifths"))
    wait_for_text(page, OVERALL, re.escape(sentence))


def _choose(page, option: str) -> None:
    page.click("#policy-preset-dropdown")
    page.click(f"text={option}")


def test_choosing_a_preset_shows_the_engines_verdict(page, demo_audit):
    page.goto("/policy")
    _wait_for_demo_policy(page, demo_audit)
    _choose(page, "equalized-odds")
    mark, sentence = _overall_text(demo_audit, preset("equalized-odds"))
    text = wait_for_text(page, OVERALL, re.escape(sentence))
    assert mark in text
    assert "true positive rate gap" in page.inner_text("#policy-editor-grid .ag-body")
    page.locator("#policy-board-grid").scroll_into_view_if_needed()  # the grid draws rows once seen
    wait_for_text(page, "#policy-board-grid .ag-body", "true positive rate gap")
    assert page.locator("#policy-verdict-graph .main-svg").count() > 0


def test_custom_criterion_changes_the_verdict(page, demo_audit):
    page.goto("/policy")
    _wait_for_demo_policy(page, demo_audit)
    _choose(page, "custom (start")
    page.wait_for_selector("#policy-editor-grid .ag-row[row-index='0'] [col-id='at_least']")
    page.click("#policy-check-button")

    def custom(bound):
        return Policy(name="custom policy", description="Built in the app.", criteria=(
            Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=bound),))

    strict_mark, strict_sentence = _overall_text(demo_audit, custom(0.8))
    assert strict_mark in wait_for_text(page, OVERALL, re.escape(strict_sentence))
    page.click("#policy-editor-grid .ag-row[row-index='0'] [col-id='at_least']")
    cell = page.locator("#policy-editor-grid .ag-row[row-index='0'] [col-id='at_least'] input")
    cell.fill("0.3")
    cell.press("Enter")
    page.click("#policy-check-button")
    loose_mark, loose_sentence = _overall_text(demo_audit, custom(0.3))
    assert loose_mark != strict_mark
    assert loose_mark in wait_for_text(page, OVERALL, re.escape(loose_sentence))


def test_invalid_custom_policy_explains_the_mistake(page):
    page.goto("/policy")
    _choose(page, "custom (start")
    page.click("#policy-editor-grid .ag-row[row-index='0'] [col-id='at_least']")
    cell = page.locator("#policy-editor-grid .ag-row[row-index='0'] [col-id='at_least'] input")
    cell.fill("")
    cell.press("Enter")
    page.click("#policy-check-button")
    wait_for_text(page, "#policy-alert", "Row 1: A criterion has no bound")


def test_download_report_from_group_metrics_holds_the_audits_numbers(page, demo_audit):
    page.goto("/policy")
    _choose(page, "four-fifths")
    mark, sentence = _overall_text(demo_audit, preset("four-fifths"))
    wait_for_text(page, OVERALL, re.escape(sentence))
    page.click("a.nav-link[href='/']")
    wait_for_text(page, "#metrics-table-grid .ag-body", "female")
    with page.expect_download(timeout=30_000) as download:
        page.click("#app-report-button")
    assert download.value.suggested_filename == "auditapp-report.html"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    groups = demo_audit.result.grouping("sex").groups
    for group in ("female", "male"):
        assert percent(groups.loc[group, "selection_rate"]) in text
    record = json.loads(re.search(r'id="audit-record">(.*?)</script>', text, re.S).group(1))
    assert record["policy"]["name"] == "four-fifths"
    assert record["verdicts"]["overall"] == evaluate_policy(demo_audit.result, preset("four-fifths")).overall
    assert sentence in html.unescape(text)


def test_loading_a_policy_file_checks_it(page, demo_audit, tmp_path):
    path = tmp_path / "release-gate.yaml"
    path.write_text(dump_policy(preset("strict")), encoding="utf-8")
    page.goto("/policy")
    _wait_for_demo_policy(page, demo_audit)
    page.set_input_files("#policy-file-upload input[type=file]", str(path))
    mark, sentence = _overall_text(demo_audit, preset("strict"))
    assert mark in wait_for_text(page, OVERALL, re.escape(sentence))
    wait_for_text(page, "#policy-alert", "Loaded the policy “strict” from release-gate.yaml")
    assert "precision gap" in page.inner_text("#policy-editor-grid .ag-body")
