"""The compliance documents a user downloads (LL144 summary, EU AI Act evidence) reflow and name their tables.

WCAG 2.1 AA (issue 20): ``lang``, a viewport, a ``<main>``; every table sits in a region that scrolls
sideways on its own, reachable by Tab and named, so the page itself never scrolls sideways at 320 px.
"""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd

from auditapp.compliance.eu_ai_act import eu_ai_act_evidence, evidence_page
from auditapp.compliance.ll144 import ll144_audit
from auditapp.compliance.ll144_outputs import summary_html
from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.reporting.record import audit_record


class _Tables(HTMLParser):
    """Each <table>'s nearest enclosing element's attributes, and whether there is a <main> and lang."""

    def __init__(self):
        super().__init__()
        self.stack, self.tables, self.main, self.lang = [], [], False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        self.main |= tag == "main"
        if tag == "table":
            self.tables.append(self.stack[-1] if self.stack else {})
        if tag not in ("meta", "br", "link"):
            self.stack.append(attrs)

    def handle_endtag(self, tag):
        if tag not in ("meta", "br", "link") and self.stack:
            self.stack.pop()


def _check(page: str, tables: int) -> None:
    parser = _Tables()
    parser.feed(page)
    assert parser.lang == "en" and parser.main and 'name="viewport"' in page
    assert len(parser.tables) == tables
    for box in parser.tables:
        assert box.get("class") == "table-scroll" and box.get("role") == "region" and box.get("tabindex") == "0"
        assert box.get("aria-label")


def test_ll144_summary_tables_scroll_in_named_regions():
    frame = pd.DataFrame({"sex": ["Male", "Female"] * 6, "race": ["White", "Asian", "Asian"] * 4,
                          "hired": [1, 0, 1, 1, 0, 0] * 2})
    result = ll144_audit(frame, sex="sex", race="race", selected="hired")
    page = summary_html(result)
    _check(page, tables=3)  # sex, race/ethnicity, intersectional
    assert 'aria-label="Race/ethnicity"' in page and 'aria-label="Intersectional"' in page


def test_eu_evidence_page_tables_scroll_in_named_regions():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"sex": rng.choice(["f", "m"], 400), "x": rng.normal(size=400),
                          "y": rng.integers(0, 2, 400), "p": rng.integers(0, 2, 400)})
    frame.loc[:40, "x"] = np.nan
    audit = run_audit(frame, AuditSpec(target="y", prediction="p", sensitive=("sex",)))
    record = audit_record(audit, dataset={"name": "d.csv", "sha256": "ab" * 32, "rows": 400, "columns": ["sex"]})
    evidence = eu_ai_act_evidence(record, frame=frame)
    assert not evidence.missingness.empty  # x is missing in 41 rows: the second table is there
    page = evidence_page(evidence)
    _check(page, tables=2)
    assert 'aria-label="EU AI Act evidence"' in page
