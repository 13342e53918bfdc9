"""The other pages' finished results, as report sections (looked up in the cache, never computed).

The browser keeps, per page, the small choices that name its last finished result (rows and seed for
the explanations, constraint, candidates and grouping for the mitigations, cache keys for the
simulations); ``page_sections`` finds those results for this session and turns them into sections with
words, tables and the pages' figures. A page with no result still gets its section, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.service.report_sections import (
    ReportSection,
    explanation_section,
    feedback_section,
    mitigation_section,
    not_run,
)
from auditapp.service.store import ArtifactStore

COMPLIANCE_KEYS = {"ll144": "compliance_ll144", "ug": "compliance_ug", "fl": "compliance_fl"}


def _explanation(store, token, state, choice):
    if "rows_per_group" not in choice or "seed" not in choice:
        return None
    from auditapp.service.explain_jobs import cached_explanation

    try:
        return cached_explanation(store, token, dict(state), rows_per_group=choice["rows_per_group"],
                                  seed=choice["seed"])
    except AuditInputError:
        return None


def _comparison(store, token, state, choice):
    if not choice.get("constraint") or not choice.get("candidates"):
        return None
    from auditapp.service.mitigation_jobs import cached_comparison

    return cached_comparison(store, token, dict(state), constraint=choice["constraint"],
                             candidates=choice["candidates"], grouping=choice.get("grouping") or None)


def _simulations(store, token, run) -> list:
    keys = run.get("keys") or []
    found = [store.find(token, tuple(k)) for k in keys if isinstance(k, list) and k and k[0] == "feedback"]
    return [s for s in found if s is not None and hasattr(s, "scenario")]


def _compliance(store, token, state, results, evidence_html):
    from auditapp.service import workspace
    from auditapp.service.compliance_report import compliance_section

    forms = {pack: results.get(key) for pack, key in COMPLIANCE_KEYS.items() if isinstance(results.get(key), dict)}
    frame = None
    if forms and state.get("dataset"):
        try:
            frame = workspace.dataset_for(store, token, state).frame
        except AuditInputError:
            frame = None
    return compliance_section(frame, forms, evidence_html)


def page_sections(store: ArtifactStore, token: str, state: Mapping[str, Any],
                  results: Mapping[str, Any] | None, *, evidence_html: str | None = None) -> list[ReportSection]:
    """The Explanations, Mitigations, Feedback loops and Compliance sections of this session's report, in
    that order. ``evidence_html``: the EU AI Act evidence section, when the Compliance page computed it."""
    results = results or {}
    state = state or {}
    sections = []
    explanation = _explanation(store, token, state, results.get("explain") or {})
    if explanation is not None:
        sections.append(explanation_section(explanation, int(explanation.sample.cell_sizes.sum())))
    else:
        sections.append(not_run("explanations", "Explanations"))
    comparison = _comparison(store, token, state, results.get("mitigation") or {})
    sections.append(mitigation_section(comparison) if comparison is not None
                    else not_run("mitigations", "Mitigations"))
    run = results.get("feedback") or {}
    simulations = _simulations(store, token, run)
    if simulations:
        scenario = simulations[0].scenario
        titles = [str(t) for t in (run.get("titles") or [])] or [scenario] * len(simulations)
        sections.append(feedback_section(scenario, titles, simulations, run.get("note")))
    else:
        sections.append(not_run("feedback", "Feedback loops"))
    sections.append(_compliance(store, token, state, results, evidence_html))
    return sections
