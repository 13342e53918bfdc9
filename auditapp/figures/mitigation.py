"""Figures for the mitigation comparison: the accuracy–disparity trade-off, and per-group bars.

Pure reshaping of a :class:`auditapp.mitigation.compare.Comparison`: the Pareto front and every
interval come from the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from auditapp.core.errors import AuditInputError
from auditapp.core.narrative import format_ci, format_pct
from auditapp.core.rates import LABELS, METRICS
from auditapp.figures import add_caption, base_layout, color_for, empty_figure, escape, is_missing
from auditapp.figures.describe import describe, listing
from auditapp.figures.metrics_text import Text
from auditapp.mitigation.wording import draws_range

FAMILY_ORDER = ("baseline", "pre", "in", "post")
FAMILY_NAMES = {"baseline": "Baseline", "pre": "Pre-processing", "in": "In-processing", "post": "Post-processing"}
FAMILY_SYMBOLS = {"baseline": "circle", "pre": "square", "in": "diamond", "post": "triangle-up"}
CRITERION_NAMES = {
    "demographic_parity_difference": "Demographic parity difference (selection-rate gap)",
    "equalized_odds_difference": "Equalized odds difference (largest TPR/FPR gap)",
    "equal_opportunity_difference": "True-positive-rate gap",
    "accuracy_equality_difference": "Error-rate gap",
}


def tradeoff_figure(comparison: Any) -> go.Figure:
    """Accuracy (y) against the chosen disparity (x) per candidate, error bars both ways, Pareto front joined.

    Candidates that failed are left out and named in the caption.
    """
    metric = comparison.disparity_metric
    title = "What each mitigation costs: accuracy against the disparity"
    ok = [c for c in comparison.candidates if c.error is None and c.accuracy is not None and c.disparity is not None]
    if not ok:
        return empty_figure("No candidate finished; see the table for their errors.", title=title)
    fig = go.Figure()
    # One legend entry per candidate instead of text beside each point: labels of nearby points never overlap.
    for index, family in enumerate(FAMILY_ORDER):
        for c in (c for c in ok if c.family == family):
            fig.add_trace(go.Scatter(
                x=[c.disparity.value], y=[c.accuracy.value], mode="markers",
                name=f"{escape(c.title)} ({FAMILY_NAMES[family].lower()})", legendgroup=family,
                marker={"size": 12, "color": color_for(index), "symbol": FAMILY_SYMBOLS[family],
                        "line": {"width": 2 if c.name in comparison.pareto else 0, "color": "#000000"}},
                error_x=_errors([c.disparity]), error_y=_errors([c.accuracy]),
                customdata=[[c.name, c.fit_seconds, "yes" if c.needs_sensitive_at_predict else "no",
                             f"<br>expectation; single draws' disparity {draws_range(c)}" if c.randomized else "",
                             escape(c.title)]],
                hovertemplate=("%{customdata[4]}<br>disparity %{x:.3f}<br>accuracy %{y:.1%}%{customdata[3]}<br>fit "
                               "%{customdata[1]:.1f} s<br>needs sensitive attribute at prediction: %{customdata[2]}"
                               "<extra></extra>"),
            ))
    front = sorted((c for c in ok if c.name in comparison.pareto), key=lambda c: c.disparity.value)
    if front:
        fig.add_trace(go.Scatter(
            x=[c.disparity.value for c in front], y=[c.accuracy.value for c in front], mode="lines",
            name="Pareto front", line={"dash": "dash", "color": "#000000", "width": 1}, hoverinfo="skip",
        ))
    base_layout(fig, title=title, xaxis_title=f"{CRITERION_NAMES.get(metric, metric)} (lower is fairer)",
                yaxis_title="Accuracy on the test rows")
    fig.update_yaxes(tickformat=".0%")
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top",
                              "title": {"text": "Candidate (outlined: Pareto front)"}},
                      margin={"r": 330})
    failed = [escape(c.title) for c in comparison.candidates if c not in ok]
    caption = (f"Whiskers: {int(round(_confidence(ok) * 100))}% confidence intervals (Wilson; simultaneous for gaps). Outlined points and the "
               "dashed line: the Pareto front (no other candidate is both more accurate and fairer).")
    if failed:
        caption += f" Not shown (failed): {', '.join(failed)}."
    add_caption(fig, caption)
    return describe(fig, *_tradeoff_text(comparison, ok, metric))


def _interval(estimate: Any, percent: bool) -> str:
    if is_missing(estimate.low) or is_missing(estimate.high):
        return "n/a"
    return f"{estimate.low:.1%}–{estimate.high:.1%}" if percent else f"{estimate.low:.3f}–{estimate.high:.3f}"


def _tradeoff_text(comparison: Any, ok: Any, metric: str) -> Text:
    name = CRITERION_NAMES.get(metric, metric)
    front = [c.title for c in sorted(ok, key=lambda c: c.disparity.value) if c.name in comparison.pareto]
    parts = [f"{c.title}: disparity {c.disparity.value:.3f}, accuracy {c.accuracy.value:.1%}" for c in ok]
    failed = [c.title for c in comparison.candidates if c not in ok]
    summary = (f"Scatter of accuracy against {name.lower()} (lower is fairer) for {len(ok)} candidates. "
               f"{listing(parts, limit=12)}. Pareto front: {listing(front)}."
               + (f" Failed, not shown: {listing(failed)}." if failed else ""))
    rows = [[c.title, FAMILY_NAMES[c.family], f"{c.disparity.value:.3f}", _interval(c.disparity, False),
             f"{c.accuracy.value:.1%}", _interval(c.accuracy, True), c.name in comparison.pareto,
             bool(c.needs_sensitive_at_predict)] for c in ok]
    columns = ["Candidate", "Family", "Disparity", "Disparity interval", "Accuracy", "Accuracy interval",
               "On the Pareto front", "Needs the sensitive attribute at prediction"]
    return summary, columns, rows


def _confidence(results: Any) -> float:
    audit = next((c.audit for c in results if c.audit is not None), None)
    return 0.95 if audit is None else audit.confidence


def _errors(estimates: Any) -> dict[str, Any]:
    upper = [None if is_missing(e.high) else max(e.high - e.value, 0.0) for e in estimates]
    lower = [None if is_missing(e.low) else max(e.value - e.low, 0.0) for e in estimates]
    return {"type": "data", "array": upper, "arrayminus": lower, "visible": True, "thickness": 1.2}


def candidate_groups_figure(comparison: Any, name: str, *, metrics: Sequence[str] = ("selection_rate",
                            "true_positive_rate", "false_positive_rate")) -> go.Figure:
    """Per-group bars (intersection of the sensitive features) of one candidate, with CIs.

    Raises
    ------
    AuditInputError
        If ``name`` is not a candidate of ``comparison`` or a metric is unknown.
    """
    names = [c.name for c in comparison.candidates]
    if name not in names:
        raise AuditInputError(f"No candidate '{name}' in this comparison; it has {', '.join(names)}.")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise AuditInputError(f"Unknown metric(s) {', '.join(unknown) or '(none)'}; use {', '.join(METRICS)}.")
    result = comparison.candidate(name)
    if result.grouping is None:  # empty_figure escapes its plain text
        return empty_figure(f"{result.title} failed: {result.error}",
                            title=f"{result.title}: rates by group on the test rows")
    title = f"{escape(result.title)}: rates by group on the test rows"
    groups = result.grouping.groups
    fig = go.Figure()
    for index, metric in enumerate(metrics):
        fig.add_trace(go.Bar(
            x=[escape(g) for g in groups.index], y=groups[metric].tolist(), name=LABELS[metric],
            marker_color=color_for(index),
            error_y={"type": "data", "array": (groups[f"{metric}_high"] - groups[metric]).clip(lower=0).tolist(),
                     "arrayminus": (groups[metric] - groups[f"{metric}_low"]).clip(lower=0).tolist()},
            customdata=groups[["count"]].to_numpy(),
            hovertemplate="%{x}: %{y:.1%} (n=%{customdata[0]})<extra>" + LABELS[metric] + "</extra>",
        ))
    base_layout(fig, title=title, xaxis_title=" × ".join(escape(f) for f in result.grouping.features),
                percent_y=True)
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1])
    add_caption(fig, "Whiskers: confidence intervals on the same test rows as every candidate.")
    return describe(fig, *_groups_text(result, groups, metrics))


def _groups_text(result: Any, groups: Any, metrics: Sequence[str]) -> Text:
    parts = []
    for metric in metrics:
        values = groups[metric].dropna()
        if len(values):
            parts.append(f"{LABELS[metric]}: highest {values.idxmax()} {values.max():.1%}, "
                         f"lowest {values.idxmin()} {values.min():.1%}.")
    summary = (f"Bar chart of {listing([LABELS[m].lower() for m in metrics])} per group for {result.title} "
               f"on the test rows, {len(groups)} groups, with confidence whiskers. " + " ".join(parts))
    rows = [[str(g), int(r["count"]), *(f"{format_pct(r[m])} ({format_ci(r[f'{m}_low'], r[f'{m}_high'])})"
                                        for m in metrics)] for g, r in groups.iterrows()]
    return summary, ["Group", "n", *(LABELS[m] for m in metrics)], rows
