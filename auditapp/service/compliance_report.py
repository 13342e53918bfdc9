"""The report's Compliance section: the packs computed on the Compliance page, recomputed from their forms.

Each pack is cheap and deterministic (fair lending's bootstrap has a fixed seed), so the section recomputes
it from the same dataset and the same form the page used, with the same functions: the report shows the
numbers the page showed. The EU AI Act evidence is built by the caller (it needs the audit's record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.reporting.report_html import bullets, e, table
from auditapp.service.report_sections import ReportSection

TITLE = "Compliance"
NOT_RUN_TEXT = ("Not run in this session: open Compliance, pick a pack and compute it; the report then includes "
                "the rule's tables (NYC LL144, Uniform Guidelines, fair lending) and the EU AI Act evidence.")
PACK_TITLES = {"ll144": "NYC Local Law 144 bias audit", "ug": "Uniform Guidelines adverse impact",
               "fl": "Fair lending: adverse impact ratios and standardized mean differences",
               "eu": "EU AI Act evidence"}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return e(value)


def _ll144(frame: pd.DataFrame, form: Mapping[str, Any]) -> str:
    from auditapp.compliance.forms import ll144_from_form
    from auditapp.compliance.ll144_outputs import summary_sentences, tables_html

    result = ll144_from_form(frame, form)
    return bullets(summary_sentences(result)) + tables_html(result, heading="h4")


def _ug(frame: pd.DataFrame, form: Mapping[str, Any]) -> str:
    from auditapp.compliance.forms import adverse_impact_from_form

    result = adverse_impact_from_form(frame, form)
    rows = [[e(r.group), f"{r.n:,}", f"{r.selected:,}", _fmt(r.rate, 4), _fmt(r.impact_ratio),
             "yes" if r.below_four_fifths else "", _fmt(r.fisher_p, 4), _fmt(r.z, 2), _fmt(r.z_p, 4),
             _fmt(r.flips_fisher), _fmt(r.flips_to_four_fifths), _fmt(r.shortfall, 1)] for r in result.rows]
    header = ["Group", "n", "Selected", "Rate", "Impact ratio", "Below 0.8", "Fisher p", "z", "z-test p",
              "Flips to lose significance", "Flips to reach 0.8", "Shortfall"]
    return (f"<p>Compared with the highest-rate group, {e(result.highest)}; tests at alpha {result.alpha:g}; "
            f"flips by {e(result.flip_method)}.</p>" + table(header, rows, numeric=range(1, 12)))


def _frame_table(frame: pd.DataFrame, columns: Mapping[str, str]) -> str:
    present = [c for c in columns if c in frame.columns]
    rows = [[_fmt(frame.iloc[i][c]) for c in present] for i in range(len(frame))]
    numeric = [j for j, c in enumerate(present) if pd.api.types.is_numeric_dtype(frame[c])]
    return table([e(columns[c]) for c in present], rows, numeric=numeric)


def _fl(frame: pd.DataFrame, form: Mapping[str, Any]) -> str:
    from auditapp.compliance.forms import fair_lending_from_form

    result = fair_lending_from_form(frame, form)
    parts = [f"<p>Control group {e(result.control)}. Intervals ({result.confidence:.0%}): "
             f"{e(result.interval_method)}."
             + (f" {result.rows_left_out:,} rows had no race probabilities and were left out." if result.rows_left_out
                else "") + "</p>",
             "<h4>Adverse impact ratios</h4>",
             _frame_table(result.air, {"segment": "Segment", "group": "Group", "n": "n", "approved": "Approved",
                                       "approval_rate": "Approval rate", "air": "AIR", "air_low": "AIR low",
                                       "air_high": "AIR high", "denial_rate": "Denial rate",
                                       "denial_air": "Denial AIR"})]
    if not result.smd.empty:
        parts += [f"<h4>Standardized mean differences (practical-significance line {result.smd_line:g}, a "
                  "convention)</h4>",
                  _frame_table(result.smd, {"segment": "Segment", "group": "Group", "n": "n", "mean": "Mean",
                                            "sd": "SD", "smd": "SMD", "smd_low": "SMD low", "smd_high": "SMD high"})]
    return "".join(parts)


_BUILDERS = {"ll144": _ll144, "ug": _ug, "fl": _fl}


def compliance_section(frame: pd.DataFrame | None, forms: Mapping[str, Mapping[str, Any]],
                       evidence_html: str | None = None) -> ReportSection:
    """The Compliance section: each pack in ``forms`` (``ll144``, ``ug``, ``fl``: the page's forms) computed
    on ``frame``, then the EU AI Act evidence (already rendered). A pack that no longer computes (the
    dataset changed since) says so instead of showing stale numbers."""
    packs = {k: v for k, v in forms.items() if k in _BUILDERS and v}
    if not packs and not evidence_html:
        return ReportSection("compliance", TITLE, False, lambda _draw: f'<p class="note">{e(NOT_RUN_TEXT)}</p>')
    parts = []
    for key, form in packs.items():
        try:
            if frame is None:
                raise AuditInputError("No dataset in this session.")
            body = _BUILDERS[key](frame, form)
        except AuditInputError as exc:
            body = f'<p class="note">Not included: {e(exc)}</p>'
        parts.append(f"<h3>{e(PACK_TITLES[key])}</h3>{body}")
    if evidence_html:
        parts.append(evidence_html.replace("<h2>", "<h3>").replace("</h2>", "</h3>"))
    return ReportSection("compliance", TITLE, True, lambda _draw: "".join(parts))
