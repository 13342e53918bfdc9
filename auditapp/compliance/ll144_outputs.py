"""What an LL144 bias audit publishes: the JSON record (schema ``auditapp.ll144/1``), CSV tables, the text
and HTML summaries; and the record recomputed from the data (for ``auditapp verify``)."""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from auditapp.compliance.categories import FAMILY_LABELS
from auditapp.compliance.ll144 import TABLES, CategoryRow, LL144Result, ll144_audit
from auditapp.core.errors import AuditInputError

SCHEMA = "auditapp.ll144/1"
CONTEXT_LINE = 0.8
CONTEXT_TEXT = ("The rule sets no pass/fail threshold. The 0.8 line (the four-fifths rule of the federal "
                "Uniform Guidelines) is shown as context only.")


def _count_name(result: LL144Result) -> str:
    return "scored_above_median" if result.type == "scoring" else "selected"


def _row_dict(result: LL144Result, row: CategoryRow) -> dict[str, Any]:
    out: dict[str, Any] = {"category": row.category}
    if row.table == "intersectional":
        out.update(sex=row.sex, race_ethnicity=row.race_ethnicity)
    if result.type == "classification":
        out["class"] = row.cls
    out.update({"n": row.n, _count_name(result): row.selected, "rate": row.rate,
                "impact_ratio": row.impact_ratio, "excluded": row.excluded, "reason": row.reason})
    return out


def ll144_record(result: LL144Result, *, dataset: Mapping[str, Any] | None = None,
                 timestamp: str | None = None) -> dict[str, Any]:
    """The JSON-ready record (schema ``auditapp.ll144/1``)."""
    from auditapp.reporting.record import library_versions

    return {
        "schema": SCHEMA,
        "type": result.type,
        "median": result.median,
        "ties_at_median": result.ties_at_median if result.type == "scoring" else None,
        "tables": {t: [_row_dict(result, r) for r in result.rows if r.table == t] for t in TABLES},
        "unknown": result.unknown,
        "choices": result.choices,
        "audit_date": result.audit_date,
        "data_source": result.data_source,
        "distribution_date": result.distribution_date,
        "rows": result.n_rows,
        "columns": result.columns,
        "mapping": result.mapping,
        "notes": list(result.notes),
        "dataset": dict(dataset) if dataset else None,
        "timestamp": timestamp or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
    }


def reproduce_ll144(record: Mapping[str, Any], frame: pd.DataFrame, *,
                    dataset: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record recomputed from ``frame`` with the record's columns, mapping and choices."""
    columns, choices = record.get("columns") or {}, record.get("choices") or {}
    if not columns.get("sex") or not columns.get("race_ethnicity"):
        raise AuditInputError("The record names no sex or race/ethnicity column, so it cannot be recomputed.")
    result = ll144_audit(
        frame, sex=str(columns["sex"]), race=str(columns["race_ethnicity"]), selected=columns.get("selected"),
        score=columns.get("score"), mapping=record.get("mapping"), unmapped=choices.get("unmapped", "error"),
        selected_value=choices.get("selected_value"), classify=bool(choices.get("classify")),
        ties=choices.get("ties") or "not_above", median_sample=choices.get("median_sample") or "all",
        exclude_under=choices.get("exclude_under"), audit_date=record.get("audit_date"),
        data_source=record.get("data_source"), distribution_date=record.get("distribution_date"))
    return ll144_record(result, dataset=dataset, timestamp=record.get("timestamp"))


def ll144_csv(result: LL144Result) -> pd.DataFrame:
    """Every table as one publishable CSV frame: a ``table`` column, then the record's fields.

    Text cells are neutralised against spreadsheet formulas (class names come from the data).
    """
    from auditapp.mitigation.export import neutralised

    records = [{"table": FAMILY_LABELS[r.table], **_row_dict(result, r)} for r in result.rows]
    frame = pd.DataFrame.from_records(records)
    first = ["table", *(["class"] if result.type == "classification" else []), "category", "sex", "race_ethnicity"]
    frame = frame[[c for c in first if c in frame.columns] + [c for c in frame.columns if c not in first]]
    for name in ("rate", "impact_ratio"):
        frame[name] = frame[name].astype("float64")
    return neutralised(frame)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def display_rows(result: LL144Result, table: str, cls: str | None = None) -> list[dict[str, str]]:
    """A table's rows formatted as the summary prints them (rate to 0.1%, impact ratio to 0.01)."""
    return [{"category": r.category, "n": f"{r.n:,}", "count": f"{r.selected:,}", "rate": _pct(r.rate),
             "impact_ratio": _ratio(r.impact_ratio) + (" (excluded)" if r.excluded else ""),
             "reason": r.reason} for r in result.table(table, cls)]


def rate_label(result: LL144Result) -> tuple[str, str]:
    """(count header, rate header) for the tool's type."""
    if result.type == "scoring":
        return "Scored above median", "Scoring rate"
    return "Selected", "Selection rate"


def summary_sentences(result: LL144Result) -> list[str]:
    """The plain-language summary: what was audited, the data, the unknowns, the lowest ratios."""
    what = {"selection": "a selection tool (selection rates)", "scoring": "a scoring tool (scoring rates: the "
            "share scoring above the median)", "classification": "a tool that classifies into groups (one "
            "set of tables per class)"}[result.type]
    lines = [f"Bias audit of {what}, {result.n_rows:,} people assessed, dated {result.audit_date}."]
    lines.append("Source and explanation of the data: " + (result.data_source or
                 "NOT STATED. The rule requires it (historical data, or test data and why); give it."))
    lines.append("The tool's distribution date: " + (result.distribution_date or "not stated; fill it in."))
    if result.median is not None:
        lines.append(f"Median score of the {'full sample' if result.choices['median_sample'] == 'all' else 'rows with known categories'}: "
                     f"{result.median:g}; scoring rate = share scoring {'at or ' if result.choices['ties'] == 'above' else ''}above it.")
    unknown = result.unknown
    lines.append(f"Unknown category: {unknown['count']:,} people ({unknown['sex']:,} with sex unknown, "
                 f"{unknown['race_ethnicity']:,} with race/ethnicity unknown); they are counted here and left "
                 "out of the rates and impact ratios.")
    for cls in result.classes:
        for table in TABLES:
            rated = [r for r in result.table(table, cls) if r.impact_ratio is not None]
            if len(rated) > 1:
                low = min(rated, key=lambda r: r.impact_ratio if r.impact_ratio is not None else float("inf"))
                where = f" for class '{cls}'" if cls is not None else ""
                lines.append(f"Lowest {FAMILY_LABELS[table].lower()} impact ratio{where}: {low.category}, "
                             f"{low.impact_ratio:.2f} ({_pct(low.rate)} against the highest rate).")
    excluded = [r for r in result.rows if r.excluded]
    if excluded:
        lines.append(f"{len(excluded)} categories under {100 * result.choices['exclude_under']:g}% of the data "
                     "were excluded from the impact ratios (listed with their n and rate).")
    lines += list(result.notes)
    lines.append(CONTEXT_TEXT)
    return lines


def summary_text(result: LL144Result) -> str:
    """The summary and every table as plain text (what the CLI prints)."""
    count, rate = rate_label(result)
    lines = summary_sentences(result)
    for cls in result.classes:
        for table in TABLES:
            head = FAMILY_LABELS[table] + (f" — class '{cls}'" if cls is not None else "")
            lines += ["", f"== {head} ==", f"{'Category':<52}{'n':>9}{count:>22}{rate:>16}{'Impact ratio':>16}"]
            for r in display_rows(result, table, cls):
                lines.append(f"{r['category'][:51]:<52}{r['n']:>9}{r['count']:>22}{r['rate']:>16}"
                             f"{r['impact_ratio']:>16}" + (f"  {r['reason']}" if r["reason"] else ""))
    return "\n".join(lines)


_CSS = ("body{font-family:system-ui,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#222;max-width:1000px;"
        "margin:0 auto;padding:1.5rem;line-height:1.45}table{border-collapse:collapse;width:100%;margin:.5rem 0 "
        "1.5rem}th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}th{background:#f0f0f0}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}.meta{color:#555}"
        ".table-scroll{overflow-x:auto;max-width:100%}.table-scroll:focus-visible{outline:3px solid #0b5cad}"
        "@media (max-width:600px){body{padding:.6rem}}")


def summary_html(result: LL144Result, *, dataset: Mapping[str, Any] | None = None) -> str:
    """The summary of results as one small, self-contained HTML page (no scripts), ready to publish."""
    def e(value: object) -> str:
        return html.escape(str(value), quote=True)

    parts = [f"<h1>Bias audit summary (NYC Local Law 144)</h1><p class=\"meta\">Audit date {e(result.audit_date)}"
             + (f" · data {e(dataset.get('name', ''))}, sha256 {e(dataset.get('sha256', ''))}" if dataset else "")
             + "</p>", "<ul>" + "".join(f"<li>{e(s)}</li>" for s in summary_sentences(result)) + "</ul>",
             tables_html(result, heading="h2")]
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            f'content="{csp}"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>Bias audit summary</title><style>{_CSS}</style></head><body><main>'
            + "".join(parts) + "</main></body></html>")


def tables_html(result: LL144Result, *, heading: str = "h2") -> str:
    """Every table of the audit (per class for a classifier) as HTML, each under its own heading."""
    def e(value: object) -> str:
        return html.escape(str(value), quote=True)

    from auditapp.reporting.report_html import table

    count, rate = rate_label(result)
    header = ["Category", "n", e(count), e(rate), "Impact ratio", "Note"]
    parts = []
    for cls in result.classes:
        for family in TABLES:
            head = FAMILY_LABELS[family] + (f" — class '{cls}'" if cls is not None else "")
            rows = [[e(r["category"]), e(r["n"]), e(r["count"]), e(r["rate"]), e(r["impact_ratio"]), e(r["reason"])]
                    for r in display_rows(result, family, cls)]
            # Each table scrolls sideways in its own named region; the page never does (320 px reflow).
            parts.append(f"<{heading}>{e(head)}</{heading}>" + table(header, rows, numeric=(1, 2, 3, 4), label=head))
    return "".join(parts)


def ll144_file(result: LL144Result, which: str, dataset: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """``(text, file name)`` of the summary ("html"), the tables ("csv") or the record ("json")."""
    import json

    stem = f"ll144_bias_audit_{result.audit_date}"
    if which == "html":
        return summary_html(result, dataset=dataset), f"{stem}.html"
    if which == "csv":
        return ll144_csv(result).to_csv(index=False), f"{stem}.csv"
    return json.dumps(ll144_record(result, dataset=dataset), indent=2, allow_nan=False), f"{stem}.json"
