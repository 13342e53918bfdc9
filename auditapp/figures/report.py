"""Figures for policy verdicts (the Policy page and the report): ``PolicyEvaluation`` → ``go.Figure``.

One figure per criterion: the checked number of every evaluated group with its confidence interval,
the bounds as lines, and the verdict shown by marker shape and a text label as well as by colour, so
it reads in greyscale print and for colour-blind readers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from auditapp.core.errors import AuditInputError
from auditapp.figures import base_layout, empty_figure, escape, plain
from auditapp.figures.describe import describe, listing
from auditapp.figures.metrics_text import Text
from auditapp.policy.verdicts import PolicyEvaluation

# verdict -> (Okabe–Ito colour, marker symbol, word shown next to the marker)
VERDICT_STYLE: dict[str, tuple[str, str, str]] = {
    "pass": ("#009E73", "circle", "✔ pass"),
    "fail": ("#D55E00", "x", "✘ fail"),
    "inconclusive": ("#E69F00", "diamond-open", "? inconclusive"),
}
_AXIS = {"rate": "Rate", "difference": "Difference (group − comparison)", "ratio": "Ratio (group ÷ comparison)"}


def _row_label(verdict: Any, quote: Callable[[object], str] = escape) -> str:
    grouping, group = quote(verdict.grouping), quote(verdict.group)
    if verdict.criterion.scope == "spread":
        return f"{grouping}: {group} … {quote(verdict.compared_with)}"
    if verdict.compared_with is None:
        return f"{grouping}: {group}"
    return f"{grouping}: {group} vs {quote(verdict.compared_with)}"


def verdict_figure(evaluation: PolicyEvaluation, criterion: str) -> go.Figure:
    """Point-and-whisker chart of one criterion's checked numbers, with its bounds.

    Parameters
    ----------
    evaluation : PolicyEvaluation
        From ``auditapp.policy.verdicts.evaluate_policy``.
    criterion : str
        The name of one of the policy's criteria.

    Returns
    -------
    go.Figure
        One scatter trace per verdict kind (pass, fail, inconclusive), each point a group (or a
        grouping, for spread criteria) with its CI as whiskers and its verdict as text; the bounds
        as dashed vertical lines. An empty figure when no group could be evaluated.

    Raises
    ------
    AuditInputError
        If the policy has no criterion of that name.
    """
    chosen = [c for c in evaluation.policy.criteria if c.name == criterion]
    if not chosen:
        names = ", ".join(c.name for c in evaluation.policy.criteria)
        raise AuditInputError(f"The policy has no criterion '{criterion}'. Its criteria: {names}.")
    c = chosen[0]
    rows = [v for v in evaluation.verdicts if v.criterion.name == criterion and v.verdict in VERDICT_STYLE]
    if not rows:  # empty_figure escapes its plain text
        return empty_figure("No group was large enough to evaluate this criterion.",
                            title=f"{c.name}: {c.bound_text}")
    title = f"{escape(c.name)}: {escape(c.bound_text)}"
    fig = go.Figure()
    level = f"{evaluation.confidence:.0%} CI"
    for kind, (colour, symbol, word) in VERDICT_STYLE.items():
        part = [v for v in rows if v.verdict == kind]
        if not part:
            continue
        values = [plain(v.value) for v in part]
        plus = [None if plain(v.high) is None else v.high - v.value for v in part]
        minus = [None if plain(v.low) is None else v.value - v.low for v in part]
        fig.add_trace(go.Scatter(
            x=values, y=[_row_label(v) for v in part], mode="markers+text", name=word,
            meta={"a11y": "labels-optional"},  # narrow screens drop the words; shapes and legend remain
            text=[word] * len(part), textposition="middle right", cliponaxis=False,
            marker={"color": colour, "symbol": symbol, "size": 12, "line": {"color": colour, "width": 2}},
            error_x={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus,
                     "color": "#333333", "thickness": 1.3, "width": 4},
            customdata=[[f"{v.low:.3f}–{v.high:.3f}", int(v.count)] for v in part],
            hovertemplate=(f"<b>%{{y}}</b><br>%{{x:.3f}} ({level} %{{customdata[0]}})"
                           "<br>n = %{customdata[1]}<extra></extra>"),
        ))
    for bound in (c.at_least, c.at_most):
        if bound is not None:
            fig.add_vline(x=bound, line={"color": "#000000", "dash": "dash", "width": 1.5},
                          annotation_text=f"bound {bound:g}", annotation_position="top")
    base_layout(fig, title=title, xaxis_title=_AXIS[c.measure])
    fig.update_yaxes(type="category", autorange="reversed")
    if c.measure == "rate":
        fig.update_xaxes(tickformat=".0%")
    # As tall as its rows; room on the right for a verdict word next to the highest value.
    fig.update_layout(height=max(260, 90 + 34 * len(rows)), margin={"r": 110})
    return describe(fig, *_verdict_text(c, rows, level))


def _verdict_text(criterion: Any, rows: Any, level: str) -> Text:
    counts = {kind: sum(v.verdict == kind for v in rows) for kind in VERDICT_STYLE}
    failing = [_row_label(v, str) for v in rows if v.verdict == "fail"]
    summary = (f"Checked numbers of {criterion.name} ({criterion.bound_text}) with {level} whiskers, bounds as "
               f"dashed lines: {counts['pass']} pass, {counts['fail']} fail, {counts['inconclusive']} "
               "inconclusive." + (f" Failing: {listing(failing)}." if failing else ""))
    table = [[_row_label(v, str), VERDICT_STYLE[v.verdict][2], f"{v.value:.3f}",
              "n/a" if plain(v.low) is None else f"{v.low:.3f}–{v.high:.3f}", int(v.count)] for v in rows]
    return summary, ["Group", "Verdict", "Value", level, "n"], table
