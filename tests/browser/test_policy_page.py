"""Policy & report page: presets, a custom criterion, and the Download report action from another page."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import load_model
from auditapp.policy.criteria import Criterion, Policy, dump_policy, preset
from auditapp.policy.findings import build_findings
from auditapp.policy.verdicts import evaluate_policy
from auditapp.service.policy_forms import verdict_mark
from tests.browser.helpers import percent, wait_for_text

pytestmark = pytest.mark.browser

OVERALL = "#policy-overall-verdict"


@pytest.fixture(scope="module")
def demo_audit(app_data_dir):
    """The audit the app shows for the preloaded hiring demo, computed by the engine here."""
    folder = app_data_dir / "scenarios" / "hiring" / "v2"
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
    page.wait_for_function("""() => [...document.querySelectorAll('#policy-criteria-div input')]
                                    .some(i => i.value === 'true positive rate gap')""")
    page.locator("#policy-board-grid").scroll_into_view_if_needed()  # a grid draws its rows once on screen
    wait_for_text(page, "#policy-board-grid .ag-body", "true positive rate gap")
    assert page.locator("#policy-verdict-graph .main-svg").count() > 0


def _field(row: str, field: str) -> str:
    """The CSS selector of one control of the policy editor (Dash writes dict ids as sorted JSON)."""
    return f"""[id='{{"field":"{field}","row":"{row}","type":"policy-criterion-field"}}']"""


def _type(page, row: str, field: str, text: str) -> None:
    page.fill(_field(row, field), text)
    page.press(_field(row, field), "Enter")


def _custom(*bounds):
    return Policy(name="custom policy", description="Built in the app.", criteria=tuple(
        Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=bound,
                  name="selection_rate ratio vs highest group" + (f" ({i})" if i > 1 else ""))
        for i, bound in enumerate(bounds, start=1)))


def test_the_custom_policy_never_shows_another_policys_verdict(page, demo_audit):
    page.goto("/policy")
    _wait_for_demo_policy(page, demo_audit)
    _choose(page, "custom (start")
    wait_for_text(page, OVERALL, "No policy checked yet")  # the four-fifths verdict is gone, visibly
    assert "FAIL" not in page.inner_text(OVERALL) and "INCONCLUSIVE" not in page.inner_text(OVERALL)
    page.wait_for_selector("text=No criteria yet", state="visible")  # custom starts empty
    page.click("#policy-add-button")
    page.click("#policy-add-button")
    page.wait_for_selector(_field("2", "at_least"))
    page.wait_for_selector("text=No criteria yet", state="hidden")
    assert page.get_by_role("button", name="Remove Criterion 2").count() == 1  # numbered in order
    assert page.input_value(_field("1", "name")) == ""
    wait_for_text(page, "#policy-editor-status", "Not checked yet")
    assert "No policy has been checked yet" in page.inner_text("#policy-stale-notice")
    page.wait_for_selector("#policy-verdict-area", state="hidden")
    page.click("#policy-check-button")  # two identical rows: named apart, never a duplicate-name error
    mark, sentence = _overall_text(demo_audit, _custom(0.8, 0.8))
    assert mark in wait_for_text(page, OVERALL, re.escape(sentence))
    page.wait_for_selector("#policy-verdict-area", state="visible")
    assert "selection_rate ratio vs highest group (2)" in page.inner_text("#policy-summary-table")
    wait_for_text(page, "#policy-editor-status", "Checked: the verdict below is this policy's")

    page.click(_field("1", "role"))  # a dropdown cell: one click opens it
    page.get_by_role("option", name="monitored: reported only").click()
    wait_for_text(page, "#policy-editor-status", "Changed since it was checked")
    page.wait_for_selector("#policy-verdict-area", state="hidden")
    assert "(“custom policy”), so its verdict is cleared" in page.inner_text("#policy-stale-notice")
    page.fill(_field("2", "at_least"), "0.5")  # typed, not yet committed: removing another criterion keeps it
    page.click("""[id='{"row":"1","type":"policy-remove-button"}']""")
    page.wait_for_selector(_field("1", "at_least"), state="detached")
    assert page.input_value(_field("2", "at_least")) == "0.5"
    _type(page, "2", "at_least", "0.3")
    page.get_by_role("button", name="Remove Criterion 1").wait_for()  # the one left is now the first
    assert page.get_by_role("button", name="Remove Criterion 2").count() == 0
    page.click("#policy-check-button")
    loose_mark, loose_sentence = _overall_text(demo_audit, _custom(0.3))
    assert loose_mark in wait_for_text(page, OVERALL, re.escape(loose_sentence))
    page.wait_for_selector("#policy-verdict-area", state="visible")


def test_invalid_custom_policy_clears_the_verdict_and_explains_the_mistake(page, demo_audit):
    page.goto("/policy")
    _wait_for_demo_policy(page, demo_audit)
    page.wait_for_selector(_field("1", "at_least"))
    _type(page, "1", "at_least", "")  # a bound can be cleared...
    status = wait_for_text(page, "#policy-editor-status", "Not valid yet")
    assert "Row 1 ('four-fifths rule'): Criterion 'four-fifths rule' has no bound" in status
    page.wait_for_selector("#policy-verdict-area", state="hidden")
    page.click("#policy-check-button")
    wait_for_text(page, "#policy-alert", "Row 1 \\('four-fifths rule'\\): Criterion 'four-fifths rule' has no bound")
    _type(page, "1", "at_most", "1.25")  # ...and the other one given instead
    wait_for_text(page, "#policy-editor-status", "Changed since it was checked")
    page.click("#policy-check-button")
    edited = Policy(name="four-fifths (edited)", criteria=(Criterion(
        metric="selection_rate", measure="ratio", scope="vs_best", at_most=1.25, name="four-fifths rule"),))
    mark, sentence = _overall_text(demo_audit, edited)
    assert mark in wait_for_text(page, OVERALL, re.escape(sentence))


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
    page.wait_for_function("""() => [...document.querySelectorAll('#policy-criteria-div input')]
                                    .some(i => i.value === 'precision gap')""")
