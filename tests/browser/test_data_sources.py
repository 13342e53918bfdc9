"""A server-side source: picked from the operator's list, opened and audited whole in the background."""

from __future__ import annotations

import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from tests.browser.helpers import (
    choose,
    grid_text,
    percent,
    run_enabled,
    use_suggestion,
    wait_for_text,
    wait_until_ready,
)

pytestmark = pytest.mark.browser


def test_open_and_audit_a_folder_of_parquet_files(page, data_sources_dir):
    page.goto("/data")
    page.click("#data-source-dropdown")
    page.get_by_text("logs/*.parquet (3 files)").click()
    page.click("#data-source-open-button")
    wait_for_text(page, "#data-source-alert", "Opened logs/\\*.parquet: 30,000 rows", timeout=90_000)
    wait_for_text(page, "#data-source-status", "Source: logs/\\*.parquet · 30,000 rows")
    page.wait_for_selector("#data-target-hint button")
    assert not run_enabled(page)  # a source starts from a blank choice, like an upload: nothing is guessed
    for hint in ("data-target-hint", "data-favorable-hint"):
        use_suggestion(page, hint)
    page.get_by_label("A score column + threshold").check()
    choose(page, "data-score-dropdown", "score")
    page.fill("#data-threshold-input", "0.5")
    choose(page, "data-sensitive-dropdown", "sex")
    choose(page, "data-sensitive-dropdown", "race")
    wait_for_text(page, "#data-reference-container", "Reference group for race")
    wait_until_ready(page)
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
