"""The standalone HTML audit report: one file that opens offline and prints cleanly to PDF.

It holds the verdict board, the findings, per-grouping tables and charts (the same figure builders
as the app), the settings, and the audit record as JSON. plotly.js is embedded once, inline; there is
no external URL, and a Content-Security-Policy forbids every network request. Every user-provided
string (column names, group values, file names) is HTML-escaped, and the figures' JSON is embedded
with ``<``, ``>`` and ``&`` escaped, so a column called ``<script>`` stays text.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from auditapp.core.audit import Audit
from auditapp.core.outcome import assess
from auditapp.policy.findings import Finding
from auditapp.policy.verdicts import PolicyEvaluation
from auditapp.reporting.outputs import write_text_atomic
from auditapp.reporting.report_html import CSS as ACCESSIBLE_CSS
from auditapp.reporting.report_html import LAZY_JS, Templates, figure_html, safe_json
from auditapp.reporting.report_html import e as _e
from auditapp.reporting.report_html import table as _table

Draw = Callable[[go.Figure, str], str]

TABLE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")
CHART_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate")
# verdict -> (icon, word, css class); icon and word make the board readable without colour.
BOARD = {
    "pass": ("✔", "PASS", "pass"),
    "fail": ("✘", "FAIL", "fail"),
    "inconclusive": ("?", "INCONCLUSIVE", "inconclusive"),
    "not_evaluable": ("–", "NOT EVALUABLE", "na"),
}
_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; connect-src 'none'")
_CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;margin:0 auto;
 max-width:1100px;padding:1.5rem;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem;width:100%}
th,td{border:1px solid #bbb;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;font-weight:700;padding:.1rem .5rem;border:2px solid;border-radius:4px}
.pass{color:#00603f;border-color:#009E73;background:#e6f6f0}.fail{color:#8a3300;border-color:#D55E00;background:#fbebe0}
.inconclusive{color:#6b4a00;border-color:#E69F00;background:#fdf3dc}.na{color:#444;border-color:#888;background:#f2f2f2}
.overall-badge{font-size:1.5rem;padding:.4rem .9rem;margin:.6rem 0}
.figure{width:100%;min-height:380px;break-inside:avoid;page-break-inside:avoid}
.meta{color:#555;font-size:.9rem}pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;font-size:.8rem}
ul.findings li{margin:.4rem 0;padding-left:.3rem}li.finding-fail{border-left:4px solid #D55E00}
li.finding-inconclusive{border-left:4px solid #E69F00}li.finding-not_evaluable{border-left:4px solid #888}
li.finding-overall{font-weight:600}li.finding-fail::marker{content:"✘ "}
li.finding-inconclusive::marker{content:"? "}li.finding-not_evaluable::marker{content:"– "}
li.finding-overall::marker{content:"■ "}
nav.toc{background:#f7f7f7;border:1px solid #ddd;padding:.6rem 1rem;margin:1rem 0}
nav.toc ol{margin:.2rem 0;padding-left:1.4rem}nav.toc li{margin:.15rem 0}.toc .not-run{color:#666}
.recommended{border:2px solid #0072B2;background:#eef6fb;padding:.6rem .9rem;margin:.8rem 0}
.note{color:#555;font-size:.9rem}.small-flag{color:#8a3300;font-weight:600}
@page{size:A4;margin:14mm}
@media print{nav,.no-print{display:none}body{max-width:none;padding:0;font-size:10pt}
 h2{break-after:avoid}table,tr{break-inside:avoid}pre{white-space:pre-wrap;word-break:break-all;font-size:7pt}
 .verdict,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
_PRINT_JS = """
window.addEventListener('beforeprint',function(){
 document.querySelectorAll('details').forEach(function(d){d.open=true;});
 window.auditappDrawAll();
 document.querySelectorAll('.js-plotly-plot').forEach(function(g){Plotly.Plots.resize(g);});});
"""


def _badge(verdict: str, extra: str = "") -> str:
    icon, word, css = BOARD[verdict]
    return f'<span class="verdict {css} {extra}">{icon} {word}</span>'


def _board(evaluation: PolicyEvaluation | None) -> str:
    if evaluation is None:
        return ('<section id="verdict"><h2>Verdict</h2><p>No policy was checked: this report shows '
                "the metrics only.</p></section>")
    policy = evaluation.policy
    rows = []
    for name, row in evaluation.summary().iterrows():
        rows.append([_badge(row["verdict"]), _e(name), "required" if row["required"] else "monitored",
                     _e(row["bound"]), str(row["pass"]), str(row["fail"]), str(row["inconclusive"]),
                     str(row["not_evaluable"])])
    table = _table(["Verdict", "Criterion", "Role", "Bound", "Pass", "Fail", "Inconclusive",
                    "Not evaluable"], rows, numeric=(4, 5, 6, 7), label="Verdict per criterion")
    return (f'<section id="verdict"><h2>Verdict</h2>'
            f'<p>Policy <strong>{_e(policy.name)}</strong>: {_e(policy.description)}</p>'
            f'<div id="overall-verdict">{_badge(evaluation.overall, "overall-badge")}</div>{table}</section>')


def _findings(findings: Sequence[Finding]) -> str:
    if not findings:
        return ""
    items = "".join(f'<li class="finding-{_e(f.kind)}">{_e(f.text)}</li>' for f in findings)
    return f'<section id="findings"><h2>Findings</h2><ul class="findings">{items}</ul></section>'


def _verdict_details(evaluation: PolicyEvaluation | None, figure_html: Draw) -> str:
    if evaluation is None:
        return ""
    from auditapp.figures.report import verdict_figure

    def num(x: float) -> str:
        return "n/a" if x != x else f"{x:.4f}"

    parts = []
    for i, c in enumerate(evaluation.policy.criteria):
        rows = [[_badge(v.verdict), _e(v.grouping), _e(v.group if v.group is not None else ""),
                 _e(v.compared_with or ""), num(v.value), f"{num(v.low)} – {num(v.high)}",
                 str(v.count), _e(v.reason)]
                for v in evaluation.verdicts if v.criterion.name == c.name]
        parts.append(f"<h3>{_e(c.name)} ({_e(c.bound_text)})</h3>"
                     + figure_html(verdict_figure(evaluation, c.name), f"verdict-figure-{i}")
                     + _table(["Verdict", "Grouping", "Group", "Compared with", "Value",
                               f"{evaluation.confidence:.0%} CI", "n", "Reason"], rows,
                              numeric=(4, 5, 6), label=f"Verdicts by group: {c.name}"))
    return '<section id="verdict-details"><h2>Verdicts by group</h2>' + "".join(parts) + "</section>"


def _groupings(audit: Audit, figure_html: Draw) -> str:
    from auditapp.core.rates import LABELS
    from auditapp.figures.metrics import (
        disparity_figure,
        group_metric_figure,
        group_table_rows,
        intersection_heatmap,
    )

    confidence = audit.result.confidence
    parts = []
    for i, grouping in enumerate(audit.result.groupings):
        rows = [[_e(r["group"]), str(r["n"]), "yes" if r["reference"] else "", _e(r["flags"]),
                 *(_e(r[m]) for m in TABLE_METRICS)] for r in group_table_rows(grouping, TABLE_METRICS)]
        table = _table(["Group", "n", "Reference", "Flags", *(LABELS[m] for m in TABLE_METRICS)], rows,
                       numeric=(1,), label=f"Rates by group of {grouping.name}")
        figures = [group_metric_figure(grouping, CHART_METRICS, confidence=confidence),
                   disparity_figure(grouping, "selection_rate", confidence=confidence)]
        if len(grouping.features) == 2:
            figures.append(intersection_heatmap(grouping, "selection_rate"))
        charts = "".join(figure_html(f, f"grouping-{i}-figure-{j}") for j, f in enumerate(figures))
        parts.append(f"<h3>{_e(grouping.name)} (reference: {_e(grouping.reference)})</h3>{table}{charts}")
    return '<section id="groups"><h2>Groups</h2>' + "".join(parts) + "</section>"


def _scores(audit: Audit, figure_html: Draw) -> str:
    if not audit.has_scores:
        return ""
    from auditapp.core.scores import roc_curves
    from auditapp.figures.thresholds import calibration_figure, roc_figure

    confidence = audit.result.confidence
    parts = []
    for i, name in enumerate(audit.spec.sensitive):
        index = audit.threshold_index((name,))
        parts.append(f"<h3>{_e(name)}</h3>"
                     + figure_html(roc_figure(roc_curves(index), audit.auc[(name,)], confidence=confidence),
                                   f"roc-{i}")
                     + figure_html(calibration_figure(audit.calibration[name], confidence=confidence),
                                   f"calibration-{i}"))
    return '<section id="scores"><h2>Scores: ROC and calibration</h2>' + "".join(parts) + "</section>"


def _extra(extra_figures: Mapping[str, Sequence[go.Figure]] | None, figure_html: Draw) -> str:
    parts = []
    for i, (title, figures) in enumerate((extra_figures or {}).items()):
        charts = "".join(figure_html(f, f"extra-{i}-figure-{j}") for j, f in enumerate(figures))
        parts.append(f'<section id="extra-{i}"><h2>{_e(title)}</h2>{charts}</section>')
    return "".join(parts)


def _settings(audit: Audit, record: Mapping[str, Any], evaluation: PolicyEvaluation | None) -> str:
    def kv(items: Sequence[tuple[str, object]]) -> str:
        return _table(["Setting", "Value"], [[_e(k), _e(v)] for k, v in items], label="Audit settings")

    dataset = record.get("dataset") or {}
    model = record.get("model") or {}
    facts = [("dataset", dataset.get("name", "")), ("dataset sha256", dataset.get("sha256", "")),
             ("rows", dataset.get("rows", audit.result.n_rows)),
             ("model", model.get("name", "none (predictions or scores from columns)")),
             ("model sha256", model.get("sha256", "")), ("model format", model.get("format", "")),
             *((f"setting: {k}", v) for k, v in (record.get("settings") or {}).items()),
             *((f"spec: {k}", json.dumps(v, ensure_ascii=False)) for k, v in audit.spec.to_dict().items()),
             ("timestamp", record.get("timestamp", "")),
             *((f"version: {k}", v) for k, v in (record.get("versions") or {}).items())]
    text = "<h3>Audit</h3>" + kv(facts)
    if evaluation is not None:
        rows = [[_e(c.name), _e(c.metric), _e(c.measure), _e(c.scope), _e(c.bound_text),
                 str(c.min_group_size), "required" if c.required else "monitored", _e(c.groupings)]
                for c in evaluation.policy.criteria]
        text += f"<h3>Policy {_e(evaluation.policy.name)}</h3>" + _table(
            ["Criterion", "Metric", "Measure", "Scope", "Bound", "Min group size", "Role", "Groupings"],
            rows, label=f"Criteria of the policy {evaluation.policy.name}")
    notices = "".join(f"<li>{_e(n)}</li>" for n in audit.notices)
    if notices:
        text += f"<h3>Notices</h3><ul>{notices}</ul>"
    return f'<section id="settings"><h2>Settings</h2>{text}</section>'


def _toc(entries: Sequence[tuple[str, str, bool]]) -> str:
    """The table of contents: every section, the ones not run in this session marked so."""
    items = "".join(
        f'<li><a href="#{_e(anchor)}">{_e(title)}</a></li>' if ran
        else f'<li class="not-run"><a href="#{_e(anchor)}">{_e(title)}</a> (not run in this session)</li>'
        for anchor, title, ran in entries)
    return f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>'


def build_report(audit: Audit, *, record: Mapping[str, Any], evaluation: PolicyEvaluation | None = None,
                 findings: Sequence[Finding] = (), title: str = "Fairness audit report",
                 extra_figures: Mapping[str, Sequence[go.Figure]] | None = None,
                 sections: Sequence[Any] = (), extra_html: Sequence[str] = ()) -> str:
    """The report as one self-contained HTML document.

    Parameters
    ----------
    audit : Audit
        From ``run_audit``.
    record : mapping
        The audit record (``audit_record(...)``, with ``policy`` and ``verdicts`` when a policy was
        checked); embedded as JSON and shown in the settings.
    evaluation : PolicyEvaluation, optional
        The policy verdicts; without it the board says no policy was checked.
    findings : sequence of Finding
        From ``build_findings``.
    title : str
        The document title.
    extra_figures : mapping of str to figures, optional
        More sections of figures only.
    sections : sequence of ReportSection, optional
        The other pages' sections (:mod:`auditapp.service.report_sections`): findings in words, tables, figures.
    extra_html : sequence of str
        More sections as HTML whose every user string is already escaped (e.g. the EU AI Act evidence
        of :mod:`auditapp.compliance.eu_ai_act`), each ``<section id=…><h2>…</h2>``, placed before the
        settings and listed in the contents.

    Returns
    -------
    str
        The HTML text.
    """
    from auditapp.figures.bundle import plotly_js
    from auditapp.figures.describe import chart_script

    templates = Templates()

    def draw(fig: go.Figure, div_id: str) -> str:
        return figure_html(fig, div_id, templates)

    record_json = json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False)
    dataset = (record.get("dataset") or {}).get("name", "")
    header = (f"<h1>{_e(title)}</h1><p class=\"meta\">Dataset {_e(dataset)} · {audit.result.n_rows:,} rows · "
              f"{audit.result.confidence:.0%} confidence intervals from counts (methods in the record's "
              f"settings.interval_methods) · {_e(record.get('timestamp', ''))}</p>")
    parts = [("verdict", "Verdict", _board(evaluation)), ("findings", "Findings", _findings(findings)),
             ("verdict-details", "Verdicts by group", _verdict_details(evaluation, draw)),
             ("groups", "Groups", _groupings(audit, draw)), ("scores", "Scores: ROC and calibration",
                                                            _scores(audit, draw))]
    parts += [(f"extra-{i}", name, "") for i, name in enumerate(extra_figures or {})]
    extra = _extra(extra_figures, draw)
    rendered = [(s.anchor, s.title, s.ran, s.render(draw)) for s in sections]
    settings = _settings(audit, record, evaluation)
    entries = [(anchor, name, True) for anchor, name, text in parts if text or anchor.startswith("extra-")]
    entries += [(anchor, name, ran) for anchor, name, ran, _text in rendered]
    entries += [(m.group(1), html.unescape(m.group(2)), True) for m in
                (re.search(r'<section id="([^"]+)"><h2>(.*?)</h2>', text) for text in extra_html) if m]
    entries += [("settings", "Settings", True), ("record", "Audit record", True)]
    body = "".join([
        header, _toc(entries), *(text for _a, _n, text in parts), extra,
        *(text for *_rest, text in rendered), *extra_html, settings,
        f'<section id="record"><h2>Audit record</h2><p>The machine-readable record; '
        f"<code>auditapp verify</code> recomputes it from the data.</p><details><summary>Show the JSON"
        f"</summary><pre>{_e(record_json)}</pre></details>"
        f'<script type="application/json" id="audit-record">{safe_json(record_json)}</script></section>',
    ])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}{ACCESSIBLE_CSS}</style>"
            f"<script>{plotly_js()}</script><script>{LAZY_JS}</script></head><body><main>{body}</main>"
            f"{templates.script()}<script>{_PRINT_JS}</script><script>{chart_script()}</script></body></html>")


def write_report(path: str | os.PathLike[str], text: str) -> None:
    """Write the report atomically: a half-written file never replaces a good one."""
    write_text_atomic(path, text)


def report_for(audit: Audit, policy: Any = None, *, dataset_info: Mapping[str, Any],
               model_info: Mapping[str, Any] | None, timestamp: str | None = None,
               extra_figures: Mapping[str, Sequence[go.Figure]] | None = None, sections: Sequence[Any] = (),
               extra_html: Sequence[str] = ()) -> str:
    """The report of an audit checked against ``policy``, with the same record the CLI writes.

    Parameters
    ----------
    audit : Audit
        From ``run_audit``.
    policy : Policy, optional
        The policy whose verdicts and findings the report shows; None for the metrics only.
    dataset_info, model_info : mapping
        Name, sha256 (and rows/columns, format) of the inputs, as ``commands.audit.dataset_info`` /
        ``model_info`` return them; ``model_info`` is None for predictions or scores from columns.
    timestamp : str, optional
        ISO timestamp for the record (now when omitted).
    extra_figures, sections : optional
        More sections, as for ``build_report``.

    Returns
    -------
    str
        The HTML text of ``build_report``.
    """
    outcome = assess(audit, policy, dataset_info=dict(dataset_info),
                     model_info=None if model_info is None else dict(model_info), timestamp=timestamp)
    return build_report(audit, record=outcome.record, evaluation=outcome.evaluation,
                        findings=outcome.findings, extra_figures=extra_figures, sections=sections,
                        extra_html=extra_html)
