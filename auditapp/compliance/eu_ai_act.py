"""EU AI Act evidence: what an audit holds, mapped to the documentation the Act asks of high-risk systems.

- Art. 10 (data and data governance): the dataset's hash and size, the groups present with their counts,
  missing values by group (Art. 10(2)(f)–(h): examination for biases and data gaps);
- Art. 15(1)–(3) (accuracy): accuracy per group with intervals;
- Annex IV 2(g) (validation and testing): the discriminatory-impact metrics, the test logs (settings,
  seed, interval methods, library versions, the command that re-checks the record), dated and signed;
- Art. 15(4) (systems that keep learning): the feedback-loop analysis, when one was run.

Each item says whether the evidence is present, partial or missing, and what to do when it is not. This
is a map of evidence, not legal advice or a conformity assessment.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

STATUSES = ("present", "partial", "missing")


@dataclass(frozen=True)
class EvidenceItem:
    """One requirement, the evidence the audit holds for it, and its status."""

    article: str
    requirement: str
    status: str
    evidence: str


@dataclass(frozen=True)
class Evidence:
    """Every item, and missing values by group (rows: grouping and group; columns: the data's columns)."""

    items: tuple[EvidenceItem, ...]
    missingness: pd.DataFrame
    dated: str


def missing_by_group(frame: pd.DataFrame, sensitive: Sequence[str]) -> pd.DataFrame:
    """The share of empty cells in each column, per group of each sensitive attribute (all columns kept).

    Rows are indexed by (attribute, group); a group whose attribute value is itself missing is listed as
    ``(missing)``.
    """
    parts = []
    missing = frame.isna()
    for attribute in sensitive:
        if attribute not in frame.columns:
            continue
        keys = frame[attribute].astype(object).where(frame[attribute].notna(), "(missing)").astype(str)
        share = missing.groupby(keys.to_numpy()).mean()
        share.index = pd.MultiIndex.from_product([[attribute], share.index], names=["attribute", "group"])
        parts.append(share)
    return pd.concat(parts) if parts else pd.DataFrame()


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


_MEASURE_NAMES = {"accuracy": "accuracy", "mean_absolute_error": "MAE", "root_mean_squared_error": "RMSE"}


def _group(attributes: Mapping[str, Any]) -> str:
    return " & ".join(f"{k}={v}" for k, v in attributes.items())


def _estimate(entry: Mapping[str, Any]) -> str:
    ci = entry.get("ci") or [None, None]
    return f"{_fmt(entry.get('value'))} [{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _impact(task: str, disparities: Sequence[Mapping[str, Any]]) -> str:
    """The impact measures a reader of this task looks for first, each against its reference group."""
    if task == "regression":
        smd = [f"{_group(d['attributes'])}: {_estimate(d['value'])}" for d in disparities
               if d.get("metric") == "standardized_mean_difference"]
        error = [f"{_group(d['attributes'])}: {_estimate(d['difference'])}" for d in disparities
                 if d.get("metric") == "mean_error" and "difference" in d]
        return (f"Standardized mean difference of predictions (Cohen's d) vs reference: {'; '.join(smd[:20]) or 'none'}. "
                f"Mean error (prediction − outcome) minus the reference's: {'; '.join(error[:20]) or 'none'}.")
    if task == "multiclass":
        rates = [f"{_group(d['attributes'])}, class {d['metric'].split(':', 1)[1]}: ratio {_estimate(d['ratio'])}"
                 for d in disparities if str(d.get("metric", "")).startswith("class_rate:") and "ratio" in d]
        return f"Per-class assignment-rate ratios vs reference: {'; '.join(rates[:20]) or 'none'}."
    selection = [f"{_group(d['attributes'])} vs reference: ratio {_estimate(d['ratio'])}"
                 for d in disparities if d.get("metric") == "selection_rate"]
    return f"Selection-rate ratios: {'; '.join(selection[:20]) or 'none'}."


def eu_ai_act_evidence(record: Mapping[str, Any], *, frame: pd.DataFrame | None = None,
                       feedback: Sequence[str] = ()) -> Evidence:
    """Map an audit record (``auditapp audit --json``) to the Act's documentation items.

    Parameters
    ----------
    record : mapping
        The audit record (schema ``auditapp.audit/2``), signed or not: yes/no decisions, or a regression or
        multiclass audit (``task``), whose accuracy and impact measures are the task's own.
    frame : pandas.DataFrame, optional
        The audited data, for missing values by group.
    feedback : sequence of str
        One line per feedback-loop simulation that was run (scenario and what it showed).
    """
    dataset = record.get("dataset") or {}
    sensitive = list((record.get("spec") or {}).get("sensitive") or [])
    groups = record.get("groups") or []
    single = [g for g in groups if len(g.get("attributes") or {}) == 1]
    present = "; ".join(f"{' & '.join(f'{k}={v}' for k, v in g['attributes'].items())} (n={g['count']:,})"
                        for g in single[:30])
    missingness = missing_by_group(frame, sensitive) if frame is not None else pd.DataFrame()
    items = [EvidenceItem("Art. 10(2), 10(3)", "Data governance: the data used, its origin and characteristics",
                          "present" if dataset.get("sha256") else "missing",
                          f"Dataset {dataset.get('name', '?')}, sha256 {dataset.get('sha256', '?')}, "
                          f"{dataset.get('rows', '?')} rows, columns: {', '.join(map(str, dataset.get('columns') or []))}.")]
    items.append(EvidenceItem("Art. 10(2)(f), 10(5)", "Examination for possible biases: the groups present",
                              "present" if single else "missing", present or "No groups in the record."))
    if frame is None:
        items.append(EvidenceItem("Art. 10(2)(h)", "Data gaps: missing values by group", "missing",
                                  "Give the data to compute missing values by group."))
    else:
        worst = missingness.max(axis=1) if not missingness.empty else pd.Series(dtype=float)
        text = ("No missing values in any group." if worst.empty or worst.max() == 0 else
                "Highest share of empty cells per group: " + "; ".join(
                    f"{a}={g}: {100 * v:.1f}%" for (a, g), v in worst.sort_values(ascending=False).head(8).items()))
        items.append(EvidenceItem("Art. 10(2)(h)", "Data gaps: missing values by group", "present", text))
    task = str(record.get("task") or "binary")
    measures = ("mean_absolute_error", "root_mean_squared_error") if task == "regression" else ("accuracy",)
    accuracy = [_group(g["attributes"]) + ": " + ", ".join(
        f"{_MEASURE_NAMES[m]} {_estimate(g['metrics'][m])}" for m in measures)
        for g in single if all(m in (g.get("metrics") or {}) for m in measures)]
    items.append(EvidenceItem("Art. 15(1), 15(3)", "Accuracy, declared per group with intervals",
                              "present" if accuracy else "missing", "; ".join(accuracy[:20]) or "No accuracy in the record."))
    disparities = record.get("disparities") or []
    verdict = record.get("verdicts") or {}
    overall = f" Policy verdict: {verdict.get('overall')}." if isinstance(verdict, dict) and verdict.get("overall") else ""
    items.append(EvidenceItem("Annex IV 2(g)", "Metrics of potentially discriminatory impact",
                              "present" if disparities else "missing",
                              f"{len(disparities)} disparities with intervals{' and tests' if task == 'binary' else ''} "
                              f"in the record. {_impact(task, disparities)}"
                              f"{overall}"))
    settings = record.get("settings") or {}
    versions = record.get("versions") or {}
    items.append(EvidenceItem("Annex IV 2(g)", "Test logs: how the tests were run, reproducibly", "present",
                              f"Settings: seed {settings.get('seed')}, confidence {settings.get('confidence')}, "
                              f"interval methods {settings.get('interval_methods')}; versions "
                              + ", ".join(f"{k} {v}" for k, v in versions.items() if v) +
                              ". Re-check with `auditapp verify RECORD --data FILE`."))
    signature = record.get("signature")
    items.append(EvidenceItem("Annex IV 2(g)", "Test reports dated and signed",
                              "present" if signature else "partial",
                              f"Dated {record.get('timestamp')}. " + (
                                  f"Signed ({signature.get('algorithm')}, key {signature.get('key_fingerprint', '')[:16]}…, "
                                  f"{signature.get('signed_at')})." if isinstance(signature, dict) else
                                  "Not signed: sign it with `auditapp keygen KEY` and `auditapp audit … --json OUT --sign KEY`.")))
    items.append(EvidenceItem("Art. 15(4)", "Feedback loops in systems that keep learning after deployment",
                              "present" if feedback else "missing",
                              "; ".join(feedback) or "No feedback-loop analysis: run one on the Feedback loops page "
                              "(or `auditapp simulate`) if the system keeps learning from its own decisions."))
    return Evidence(items=tuple(items), missingness=missingness, dated=str(record.get("timestamp")))


def evidence_rows(evidence: Evidence) -> list[dict[str, str]]:
    """The items as table rows for the app."""
    return [{"article": i.article, "requirement": i.requirement, "status": i.status, "evidence": i.evidence}
            for i in evidence.items]


def evidence_section(evidence: Evidence) -> str:
    """The report section (HTML, every string escaped)."""
    def e(v: object) -> str:
        return html.escape(str(v), quote=True)

    from auditapp.reporting.report_html import table as scrolling_table

    # Tables scroll sideways in their own named regions: the page never does (320 px reflow).
    table = scrolling_table(["Article", "Requirement", "Status", "Evidence in this audit"],
                            [[e(i.article), e(i.requirement), e(i.status.upper()), e(i.evidence)]
                             for i in evidence.items], label="EU AI Act evidence")
    missing = ""
    if not evidence.missingness.empty:
        m = evidence.missingness
        cols = [c for c in m.columns if m[c].max() > 0][:12]
        if cols:
            body = [[e(a), e(g), *(f"{100 * m.loc[(a, g), c]:.1f}%" for c in cols)] for a, g in m.index]
            missing = "<h3>Missing values by group</h3>" + scrolling_table(
                ["Attribute", "Group", *(e(c) for c in cols)], body, numeric=range(2, 2 + len(cols)),
                label="Missing values by group")
    return ('<section id="eu-ai-act"><h2>EU AI Act evidence (Art. 10, Art. 15, Annex IV 2(g))</h2>'
            "<p>What this audit holds, mapped to the documentation the Act asks for. A map of evidence, not "
            f"legal advice or a conformity assessment. Dated {e(evidence.dated)}.</p>{table}{missing}</section>")


def evidence_page(evidence: Evidence) -> str:
    """The section as a small self-contained HTML page (no scripts)."""
    css = ("body{font-family:system-ui,Segoe UI,Roboto,Helvetica,Arial,sans-serif;max-width:1100px;margin:0 auto;"
           "padding:1.5rem;color:#222}table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;"
           "padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f0f0f0}td.num{text-align:right}"
           ".table-scroll{overflow-x:auto;max-width:100%}.table-scroll:focus-visible{outline:3px solid #0b5cad}"
           "@media (max-width:600px){body{padding:.6rem}}")
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>EU AI Act evidence</title>'
            f"<style>{css}</style></head><body><main>{evidence_section(evidence)}</main></body></html>")
