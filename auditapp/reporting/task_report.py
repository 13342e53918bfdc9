"""The self-contained HTML report of a regression or multiclass audit (``auditapp audit --task ... --report``).

Same page as the binary report (plotly.js embedded, figures drawn near the screen, the record embedded as
JSON): the task and why, the policy verdicts, per grouping the metric tables with intervals, disparities,
SMD/KS or per-class impact ratios, and the figures (metric bars, box plots, confusion heatmaps).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from auditapp.core.regression import REGRESSION_METRICS, RESIDUAL_QUANTILES
from auditapp.core.task_distributions import group_distributions
from auditapp.core.task_groups import row_groupings
from auditapp.figures.tasks import (
    class_rate_figure,
    confusion_figure,
    distribution_figure,
    regression_metric_figure,
)
from auditapp.reporting.report_html import (
    LAZY_JS,
    Templates,
    bullets,
    e,
    figure_html,
    safe_json,
    table,
)

if TYPE_CHECKING:
    from auditapp.explain.proxies import ProxyReport

Draw = Callable[[go.Figure, str], str]
__all__ = ["build_task_report"]

MAX_CONFUSION_FIGURES = 12


def _num(value: Any, fmt: str = ".4g") -> str:
    return "–" if value is None or (isinstance(value, float) and not np.isfinite(value)) else format(value, fmt)


def _ci(row: pd.Series, name: str) -> str:
    low, high = row[f"{name}_low"], row[f"{name}_high"]
    ci = "" if not (np.isfinite(low) and np.isfinite(high)) else f" [{_num(low)}, {_num(high)}]"
    return e(_num(row[name]) + ci)


def _verdicts(verdicts: dict[str, Any] | None) -> str:
    if verdicts is None:
        return "<p>No policy was checked (give <code>--policy</code>).</p>"
    rows = [[e(c["verdict"]), e(c["criterion"]), e(c["bound"]), e(" × ".join(c["features"])),
             e(_num(c["value"])), e(c["judged_on"]), e(c["note"])] for c in verdicts["checks"]]
    return (f"<p class=\"overall\">Policy <b>{e(verdicts['policy']['name'])}</b>: "
            f"<b>{e(verdicts['overall'].upper())}</b></p>" +
            table(["verdict", "criterion", "bound", "grouping", "value", "judged on", "convention"], rows, (4,)))


def _regression_grouping(audit: Any, grouping: Any, rows: Any, draw: Draw, index: int) -> str:
    t = grouping.groups
    names = (*REGRESSION_METRICS, *RESIDUAL_QUANTILES)
    body = table(["group", "n", *names, "SMD vs ref", "KS distance", "MAE ÷ best", "flags"], [
        [e(label) + (" (reference)" if row["is_reference"] else ""), e(f"{int(row['count']):,}"),
         *(_ci(row, m) for m in names), _ci(row, "standardized_mean_difference"), e(_num(row["ks_distance"])),
         _ci(row, "mae_ratio_to_best"), e(", ".join(row["flags"]))] for label, row in t.iterrows()],
        tuple(range(1, len(names) + 5)))
    crit = table(["criterion", "value", "interval"], [
        [e(name), e(_num(r["value"])), e(f"[{_num(r['low'])}, {_num(r['high'])}]")]
        for name, r in grouping.criteria.iterrows()], (1,))
    dist = group_distributions(audit.y_true, audit.y_pred, rows)
    figures = "".join([
        draw(regression_metric_figure(grouping, "mean_error"), f"t{index}-mean-error"),
        draw(regression_metric_figure(grouping, "mean_absolute_error"), f"t{index}-mae"),
        draw(distribution_figure(dist.residuals, what="residual (prediction − outcome)",
                                 title=f"Residuals by {grouping.name}"), f"t{index}-residuals"),
        draw(distribution_figure(dist.predictions, what="prediction", title=f"Predictions by {grouping.name}"),
             f"t{index}-predictions")])
    return body + "<h4>Criteria</h4>" + crit + figures


def _multiclass_grouping(audit: Any, grouping: Any, rows: Any, draw: Draw, index: int) -> str:
    t = grouping.groups
    classes = grouping.classes
    per_class = []
    for label, row in t.iterrows():
        for c in classes:
            per_class.append([e(label) + (" (reference)" if row["is_reference"] else ""), e(c),
                              *(_ci(row, f"{m}:{c}") for m in ("class_rate", "tpr", "fpr", "precision")),
                              e(_num(row[f"impact_ratio:{c}"], ".3f"))])
    body = table(["group", "class", "share assigned", "TPR", "FPR", "precision", "impact ratio"], per_class,
                 (2, 3, 4, 5, 6))
    overall = table(["group", "n", "accuracy", "macro TPR", "macro FPR", "macro precision", "flags"], [
        [e(label), e(f"{int(row['count']):,}"), _ci(row, "accuracy"), e(_num(row["macro_tpr"], ".3f")),
         e(_num(row["macro_fpr"], ".3f")), e(_num(row["macro_precision"], ".3f")), e(", ".join(row["flags"]))]
        for label, row in t.iterrows()], (1, 2, 3, 4, 5))
    crit = table(["criterion", "value"], [[e(n), e(_num(r["value"]))] for n, r in grouping.criteria.iterrows()], (1,))
    figures = [draw(class_rate_figure(grouping, "class_rate"), f"t{index}-class-rate"),
               draw(class_rate_figure(grouping, "tpr"), f"t{index}-tpr")]
    for j, label in enumerate(list(t.index)[:MAX_CONFUSION_FIGURES]):
        figures.append(draw(confusion_figure(grouping, label), f"t{index}-confusion-{j}"))
    more = len(t.index) - MAX_CONFUSION_FIGURES
    note = f"<p>{more} more groups' confusion matrices are in the record.</p>" if more > 0 else ""
    return (overall + "<h4>Per class (one vs rest; macro = average over classes)</h4>" + body + "<h4>Criteria</h4>"
            + crit + "".join(figures) + note)


def _proxies(report: ProxyReport) -> str:
    from auditapp.explain.proxies import proxy_sentence
    from auditapp.figures.explain import proxy_rows

    rows = [[e(r["feature"]), e(r["sensitive"]), e(r["group"]), e(_num(r["auc"], ".3f")),
             "" if r["nmi"] is None else e(_num(r["nmi"], ".3f")), "<strong>flagged</strong>" if r["flagged"] else "no",
             e(r["explanation"])] for r in proxy_rows(report)]
    return bullets([proxy_sentence(report)]) + table(
        ["Feature", "Predicts", "Group it singles out", "AUC", "NMI", "Flagged", "In plain words"], rows, (3, 4),
        label="Proxy scores")


def build_task_report(audit: Any, *, record: dict[str, Any], verdicts: dict[str, Any] | None,
                      title: str = "Fairness audit report", proxies: ProxyReport | None = None,
                      extra_html: Sequence[str] = ()) -> str:
    """The report as one self-contained HTML document (with ``proxies``, their sentence and table;
    ``extra_html``: sections such as the EU AI Act evidence, placed before the record, already escaped)."""
    from auditapp.figures.bundle import plotly_js
    from auditapp.figures.describe import chart_script
    from auditapp.reporting.report import _CSP, _CSS
    from auditapp.reporting.report_html import CSS as ACCESSIBLE_CSS

    templates = Templates()

    def draw(fig: go.Figure, div_id: str) -> str:
        return figure_html(fig, div_id, templates)

    result = audit.result
    groupings = row_groupings(audit.sensitive_features)
    sections = []
    for i, (grouping, rows) in enumerate(zip(result.groupings, groupings, strict=True)):
        render = _regression_grouping if audit.task == "regression" else _multiclass_grouping
        sections.append(f'<section id="grouping-{i}"><h2>{e(grouping.name)} (reference: {e(grouping.reference)})'
                        f"</h2>{render(audit, grouping, rows, draw, i)}</section>")
    record_json = json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False)
    intervals = "; ".join(f"{k}: {v}" for k, v in record["settings"]["interval_methods"].items())
    header = (f"<h1>{e(title)}</h1><p class=\"meta\">Task: <b>{e(audit.task)}</b> ({e(audit.choice.reason)}) · "
              f"dataset {e((record.get('dataset') or {}).get('name', ''))} · {result.n_rows:,} rows · "
              f"{result.confidence:.0%} intervals ({e(intervals)}) · {e(record.get('timestamp', ''))}</p>")
    body = "".join([
        header, f'<section id="verdict"><h2>Verdict</h2>{_verdicts(verdicts)}</section>',
        f'<section id="notices"><h2>Notices</h2>{bullets(audit.notices)}</section>', *sections,
        "" if proxies is None else f'<section id="proxies"><h2>Proxies: features that stand in for a sensitive '
                                   f"attribute</h2>{_proxies(proxies)}</section>",
        *extra_html,
        f'<section id="record"><h2>Audit record</h2><details><summary>Show the JSON</summary><pre>{e(record_json)}'
        f'</pre></details><script type="application/json" id="audit-record">{safe_json(record_json)}</script>'
        "</section>"])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{_CSS}{ACCESSIBLE_CSS}</style>"
            f"<script>{plotly_js()}</script><script>{LAZY_JS}</script></head><body><main>{body}</main>"
            f"{templates.script()}<script>{chart_script()}</script></body></html>")
