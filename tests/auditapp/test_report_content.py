"""The report a reviewer files: every page's findings in words and its tables, and a table of contents."""

from __future__ import annotations

import html
import re

import pytest

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.explain.core import explain_model
from auditapp.explain.proxies import proxy_sentence
from auditapp.feedback.runner import run_simulation
from auditapp.inputs.models import from_estimator
from auditapp.mitigation import describe
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.costs import recommended_candidate
from auditapp.policy.criteria import preset
from auditapp.reporting.report import report_for
from auditapp.service import explain_jobs
from auditapp.service.report_sections import (
    explanation_section,
    feedback_section,
    mitigation_section,
    not_run,
)
from datasets import hiring


@pytest.fixture(scope="module")
def demo():
    train, frame = hiring.demo_parts(1500, train_rows=1500, seed=0)
    model = from_estimator(hiring.train_hiring_model(train, seed=0), name=hiring.MODEL_FILE)
    spec = AuditSpec(target="hired", favorable=1, sensitive=("sex", "ethnicity"), reference={"sex": "male"},
                     n_boot=0)
    audit = run_audit(frame, spec, model)
    explanation = explain_model(frame, spec, model, rows_per_group=60, n_boot=20)
    comparison = compare_mitigations(frame, spec, model, candidates=["baseline", "baseline_refit", "reweighing",
                                                                     "threshold_optimizer"])
    sides = [run_simulation("policing", {"steps": 300, "runs": 5, "corrected": c}, seed=0) for c in (False, True)]
    sections = [explanation_section(explanation, len(frame)), mitigation_section(comparison),
                feedback_section("policing", ["Without the correction", "With the correction"], sides, None)]
    text = report_for(audit, preset("four-fifths"), model_info=None, sections=sections,
                      dataset_info={"name": "hiring.csv", "sha256": "0" * 64, "rows": len(frame), "columns": []})
    return explanation, comparison, sides, text


def _section(text: str, anchor: str) -> str:
    return re.search(rf'<section id="{anchor}">(.*?)</section>', text, re.S).group(1)


def test_the_explanations_section_has_the_proxy_importance_and_gap_tables_in_words(demo):
    explanation, _comparison, _sides, text = demo
    part = _section(text, "explanations")
    proxies = re.search(r'<table class="proxy-table">(.*?)</table>', part, re.S).group(1)
    assert re.search(r"<td>womens_club</td><td>sex</td>.*?<strong>flagged</strong>", proxies)
    assert html.escape(proxy_sentence(explanation.proxies)) in part
    importance = re.search(r'<table class="importance-table">(.*?)</table>', part, re.S).group(1)
    top = explanation.importance.iloc[0]
    assert f"<td>{explanation.importance.index[0]}</td><td class=\"num\">{top['mean_abs_shap']:.3f}" in importance
    assert '<table class="gap-table">' in part
    gap = explanation.gap("female", grouping=("sex",))
    assert html.escape(explain_jobs.gap_sentence(gap, explanation.proxies)) in part


def test_the_mitigations_section_has_every_candidate_with_intervals_and_the_recommendation(demo):
    _explanation, comparison, _sides, text = demo
    part = _section(text, "mitigations")
    table = re.search(r'<table class="mitigation-table">(.*?)</table>', part, re.S).group(1)
    for row in describe.comparison_rows(comparison):
        assert html.escape(row["candidate"]) in table and html.escape(row["disparity_text"]) in table
        assert html.escape(row["accuracy_change_text"]) in table
    best = recommended_candidate(comparison)
    assert best is not None and comparison.candidate(best).family != "baseline"
    box = re.search(r'<div class="recommended">(.*?)</div>', part, re.S).group(1)
    assert html.escape(comparison.candidate(best).title) in box and "Legal note." in box
    groups = re.search(r'<table class="mitigation-groups">(.*?)</table>', part, re.S).group(1)
    assert groups.count("<tr>") == 1 + len(comparison.group_sizes.table)
    for line in describe.tradeoff_summary(comparison):
        assert html.escape(line) in part
    assert part.count("Title VII") <= 1


def test_the_feedback_section_summarises_each_side(demo):
    _explanation, _comparison, sides, text = demo
    part = _section(text, "feedback")
    assert "<h3>Without the correction</h3>" in part and "<h3>With the correction</h3>" in part
    for side in sides:
        assert html.escape(side.narrative[0]) in part
        assert f"{side.summary['final_mean_share'][0]:.1%}" in part


def test_the_table_of_contents_lists_every_section_once(demo):
    text = demo[3]
    toc = re.search(r'<nav class="toc"[^>]*>(.*?)</nav>', text, re.S).group(1)
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert anchors == ["verdict", "findings", "verdict-details", "groups", "scores", "explanations",
                       "mitigations", "feedback", "settings", "record"]
    for anchor in anchors:
        assert text.count(f'id="{anchor}"') == 1


def test_a_page_not_run_is_listed_and_says_how_to_include_it():
    section = not_run("mitigations", "Mitigations")
    rendered = section.render(lambda fig, div_id: "")
    assert not section.ran and "Not run in this session" in rendered and "Run the comparison" in rendered
