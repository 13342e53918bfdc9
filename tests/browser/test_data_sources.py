"""A server-side source: picked from the operator's list, opened and audited whole in the background."""

from __future__ import annotations

import pandas as pd
import pytest

from auditapp.audit import run_audit
from auditapp.spec import AuditSpec
from tests.browser.helpers import grid_text, percent, wait_for_text

pytestmark = pytest.mark.browser


def test_open_and_audit_a_folder_of_parquet_files(page, data_sources_dir):
    page.goto("/data")
    page.click("#data-source-dropdown")
    page.get_by_text("logs/*.parquet (3 files)").click()
    page.click("#data-source-open-button")
    wait_for_text(page, "#data-source-alert", "Opened logs/\\*.parquet: 30,000 rows", timeout=90_000)
    wait_for_text(page, "#data-source-status", "Source: logs/\\*.parquet · 30,000 rows")
    wait_for_text(page, "#data-reference-container", "Reference group for race")  # settings filled in
    page.click("#data-source-audit-button")
    wait_for_text(page, "#data-source-alert", "Audit ready. 30,000 rows counted by the duckdb engine",
                  timeout=120_000)
    assert "stratified by group × outcome" in page.inner_text("#data-source-alert")
    frame = pd.concat([pd.read_parquet(p) for p in sorted((data_sources_dir / "logs").glob("*.parquet"))])
    audit = run_audit(frame, AuditSpec(target="y", favorable="yes", sensitive=("sex", "race"), score="score",
                                       threshold=0.5))
    page.click("text=See the group metrics →")
    wait_for_text(page, "#metrics-table-grid .ag-body", "f")
    text = grid_text(page, "metrics-table-grid")
    table = audit.result.grouping("sex").groups
    for group in ("f", "m"):
        assert percent(table.loc[group, "selection_rate"]) in text
    page.goto("/thresholds")
    wait_for_text(page, "#threshold-alert", "histograms of 10,000 bins", timeout=60_000)
