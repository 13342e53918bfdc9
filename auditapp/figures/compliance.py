"""Figures of the compliance packs: LL144 impact ratios, fair-lending adverse impact ratios.

The 0.8 line is drawn as context and labelled so: neither NYC Local Law 144 nor fair-lending practice
makes it a pass/fail threshold.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from auditapp.figures import add_caption, base_layout, color_for, empty_figure, escape
from auditapp.figures.describe import describe, listing
from auditapp.figures.metrics_text import Text

CONTEXT = 0.8


def _context_line(fig: go.Figure) -> None:
    fig.add_vline(x=CONTEXT, line_dash="dash", line_color="#555555",
                  annotation_text="0.8: context only, not a threshold", annotation_position="top",
                  annotation_font_size=11)


def impact_ratio_figure(result: Any, table: str, cls: str | None = None) -> go.Figure:
    """Horizontal bars of one LL144 table's impact ratios (categories with no one or excluded are named)."""
    from auditapp.compliance.categories import FAMILY_LABELS

    rows = [r for r in result.table(table, cls) if r.n > 0]
    plain = f"Impact ratios: {FAMILY_LABELS[table].lower()}" + (f", class {cls}" if cls is not None else "")
    title = f"Impact ratios: {FAMILY_LABELS[table].lower()}" + (f", class {escape(cls)}" if cls is not None else "")
    if not rows:
        return empty_figure("No one in these categories.", title=title)
    rated = [r for r in rows if r.impact_ratio is not None]
    labels = [escape(r.category) for r in rated]
    fig = go.Figure(go.Bar(
        x=[r.impact_ratio for r in rated], y=labels, orientation="h", marker_color=color_for(0),
        customdata=[[r.n, r.rate] for r in rated], name="impact ratio",
        hovertemplate="%{y}: impact ratio %{x:.2f}, rate %{customdata[1]:.1%} (n=%{customdata[0]})<extra></extra>"))
    excluded = [r for r in rows if r.impact_ratio is None]
    if excluded:
        fig.add_trace(go.Scatter(x=[0] * len(excluded), y=[escape(r.category) for r in excluded], mode="markers",
                                 marker={"symbol": "x", "color": "#555555", "size": 9}, name="excluded / no ratio",
                                 hovertemplate="%{y}: no impact ratio (see the table)<extra></extra>"))
    _context_line(fig)
    base_layout(fig, title=title, xaxis_title="impact ratio (rate ÷ highest rate in the table)")
    fig.update_xaxes(range=[0, 1.08])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(260, 60 + 34 * len(rows)), showlegend=bool(excluded), margin={"l": 260})
    add_caption(fig, "Each bar: the category's rate divided by the highest rate of this table.")
    return describe(fig, *_impact_ratio_text(plain, rated, excluded))


def _impact_ratio_text(title: str, rated: Any, excluded: Any) -> Text:
    """The chart's words: lowest and highest ratio, what is under the 0.8 context line, what has no ratio."""
    parts = [f"Bar chart, {title}: the rate of each category divided by the highest rate of the table; "
             "0.8 is marked as context only, not a threshold."]
    if rated:
        lowest = min(r.impact_ratio for r in rated)
        parts.append(f"Lowest: {listing([r.category for r in rated if r.impact_ratio == lowest])}, {lowest:.2f}.")
        under = [r.category for r in rated if r.impact_ratio < CONTEXT]
        parts.append(f"Under 0.8: {listing(under)}." if under else "No category is under 0.8.")
    if excluded:
        parts.append(f"No impact ratio (excluded or no one selected): {listing([r.category for r in excluded])}.")
    rows = [[r.category, r.n, r.rate, r.impact_ratio] for r in [*rated, *excluded]]
    return " ".join(parts), ["Category", "n", "Rate", "Impact ratio"], rows


def air_figure(result: Any) -> go.Figure:
    """Approval adverse impact ratios with intervals, overall, each group against the control group."""
    from auditapp.compliance.fair_lending import ALL_SEGMENTS

    table = result.air[(result.air["segment"] == ALL_SEGMENTS) & ~result.air["is_control"]]
    title = f"Adverse impact ratio of approvals against {escape(result.control)}"
    if table.empty:
        return empty_figure("Only the control group is present.", title=title)
    fig = go.Figure(go.Scatter(
        x=table["air"], y=[escape(g) for g in table["group"]], mode="markers", marker={"size": 11, "color": color_for(0)},
        error_x={"type": "data", "symmetric": False, "array": (table["air_high"] - table["air"]).fillna(0),
                 "arrayminus": (table["air"] - table["air_low"]).fillna(0)},
        customdata=table[["n", "approval_rate"]].to_numpy(),
        hovertemplate="%{y}: AIR %{x:.3f}, approval %{customdata[1]:.1%} (n=%{customdata[0]:.1f})<extra></extra>"))
    _context_line(fig)
    fig.add_vline(x=1.0, line_color="#999999")
    base_layout(fig, title=title, xaxis_title="approval rate ÷ control group's approval rate")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(260, 80 + 40 * len(table)), margin={"l": 240})
    add_caption(fig, f"Whiskers: {result.confidence:.0%} intervals ({escape(result.interval_method)}).")
    low = table.loc[table["air"].idxmin()] if table["air"].notna().any() else None
    summary = (f"Dot chart of the adverse impact ratio of approvals of each group against {result.control}, with "
               f"{result.confidence:.0%} intervals ({result.interval_method}); 0.8 is marked as context only."
               + (f" Lowest: {low['group']}, {low['air']:.3f}." if low is not None else ""))
    rows = [(g, n, rate, air, lo, hi) for g, n, rate, air, lo, hi in table[
        ["group", "n", "approval_rate", "air", "air_low", "air_high"]].itertuples(index=False)]
    return describe(fig, summary, ["Group", "n", "Approval rate", "AIR", "AIR low", "AIR high"], rows)
