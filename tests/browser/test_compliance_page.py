"""Compliance page: map columns and values, see the LL144 tables the engine computes, download them."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from auditapp.compliance.ll144 import ll144_audit
from auditapp.compliance.ll144_outputs import display_rows, ll144_csv, summary_sentences
from tests.browser.helpers import wait_for_text

pytestmark = pytest.mark.browser

MAPPING = {"race_ethnicity": {"black": "Black or African American", "hispanic": "Hispanic or Latino"}}


@pytest.fixture(scope="module")
def demo_frame(app_data_dir):
    from datasets import hiring

    return pd.read_csv(app_data_dir / "scenarios" / "hiring" / f"v{hiring.DEMO_VERSION}" / hiring.DATA_FILE)


def _choose_category(page, grid: str, value: str, category: str) -> None:
    """Click the category cell of a value's row and pick the category from the editor's list."""
    cell = page.locator(f"#{grid} .ag-row[row-id='{value}'] [col-id='category']")
    cell.click()
    cell.locator(".ag-picker-field-wrapper").click()
    page.locator(".ag-select-list .ag-select-list-item").filter(has_text=category).first.click()
    wait_for_text(page, f"#{grid} .ag-row[row-id='{value}'] [col-id='category']", re.escape(category))


def test_ll144_tables_and_downloads(page, demo_frame, tmp_path):
    page.goto("/compliance")
    page.wait_for_selector("#compliance-ll144-race-grid .ag-row[row-id='black']")
    wait_for_text(page, "#compliance-ll144-sex-grid .ag-row[row-id='female'] [col-id='category']", "Female")
    page.click("#compliance-ll144-run-button")
    alert = wait_for_text(page, "#compliance-alert", "does not cover")
    counts = demo_frame["ethnicity"].value_counts()
    assert f"'black' ({counts['black']} rows)" in alert and f"'hispanic' ({counts['hispanic']} rows)" in alert
    _choose_category(page, "compliance-ll144-race-grid", "black", "Black or African American")
    _choose_category(page, "compliance-ll144-race-grid", "hispanic", "Hispanic or Latino")
    page.fill("#compliance-ll144-source-input", "historical data: the hiring demo")
    page.click("#compliance-ll144-run-button")

    result = ll144_audit(demo_frame, sex="sex", race="ethnicity", selected="hired", mapping=MAPPING,
                         data_source="historical data: the hiring demo")
    wait_for_text(page, "#compliance-ll144-summary", re.escape(summary_sentences(result)[5]))
    for table in ("sex", "race_ethnicity", "intersectional"):
        text = page.inner_text(f"#compliance-ll144-table-{table}")
        for row in display_rows(result, table):
            line = "\t".join([row["category"], row["n"], row["count"], row["rate"], row["impact_ratio"]])
            assert line in text, (table, line)
    assert page.locator("#compliance-ll144-graph .main-svg").count() > 0
    assert "context only" in page.inner_text("#compliance-ll144-graph")

    with page.expect_download() as csv_download:
        page.click("#compliance-ll144-csv-button")
    csv_path = tmp_path / "tables.csv"
    csv_download.value.save_as(csv_path)
    assert csv_path.read_text() == ll144_csv(result).to_csv(index=False)
    with page.expect_download() as html_download:
        page.click("#compliance-ll144-html-button")
    html_path = tmp_path / "summary.html"
    html_download.value.save_as(html_path)
    summary = html_path.read_text()
    assert "Bias audit summary (NYC Local Law 144)" in summary and "historical data: the hiring demo" in summary
    assert all(r["rate"] in summary for r in display_rows(result, "sex"))
    # The session's report carries the same tables (recomputed from the page's form: same numbers).
    with page.expect_download() as report_download:
        page.click("#app-report-button")
    report_path = tmp_path / "report.html"
    report_download.value.save_as(report_path)
    report = report_path.read_text()
    assert '<section id="compliance"><h2>Compliance</h2>' in report and "NYC Local Law 144 bias audit" in report
    assert all(f"<td>{r['category']}</td><td class=\"num\">{r['n']}</td>" in report and r["rate"] in report
               for r in display_rows(result, "race_ethnicity"))
