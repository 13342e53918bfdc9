"""Figures and table rows for the Explanations page: ``Explanation`` parts → ``go.Figure`` / rows.

Pure reshaping of what ``auditapp.explain`` returned: importance bars with bootstrap whiskers
(overall or per group), the gap waterfall (which features widen or narrow the gap between a group
and its reference), one row's waterfall, the dependence plot coloured by group (row ids in
``customdata`` so a click can pick the row), and the proxy table's rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from auditapp.core.errors import AuditInputError
from auditapp.figures import (
    add_caption,
    base_layout,
    color_for,
    empty_figure,
    escape,
    pattern_for,
    plain,
    symbol_for,
)
from auditapp.figures.describe import describe, listing
from auditapp.figures.metrics_text import Text

WIDENS = "#D55E00"
NARROWS = "#0072B2"
ENDPOINT = "#7f7f7f"


def step_bars(labels: list[str], start: float, steps: list[float], end: float, *, colours: list[str],
              horizontal: bool = False, **trace: Any) -> go.Bar:
    """A waterfall drawn as floating bars: ``start`` from zero, each step from the running total, ``end`` from zero.

    Plotly's own Waterfall trace is not in the chart bundle the app loads (the cartesian partial bundle,
    a third of the full plotly.js), so the steps are bars with a ``base``; values read off the trace as a
    waterfall's would (``values[0] + sum(values[1:-1]) == values[-1]``).
    """
    running = start + np.concatenate([[0.0], np.cumsum(steps)])
    values = [float(start), *map(float, steps), float(end)]
    bases = [0.0, *running[:-1].tolist(), 0.0]
    colour = [ENDPOINT, *colours, ENDPOINT]
    axis = {"y": labels, "x": values, "orientation": "h"} if horizontal else {"x": labels, "y": values}
    return go.Bar(showlegend=False, base=bases, marker={"color": colour, "line": {"width": 0}}, **axis, **trace)


def add_connectors(fig: go.Figure, start: float, steps: list[float], *, horizontal: bool = False) -> None:
    """Thin lines joining each bar's end to the next bar's start, as a waterfall's connectors."""
    levels = (start + np.concatenate([[0.0], np.cumsum(steps)])).tolist()
    for index, level in enumerate(levels):
        ends = {"x0": index + 0.4, "x1": index + 0.6, "y0": level, "y1": level}
        if horizontal:
            ends = {"y0": index + 0.4, "y1": index + 0.6, "x0": level, "x1": level}
        fig.add_shape(type="line", xref="x", yref="y", line={"color": "#999999", "width": 1}, **ends)


def importance_figure(explanation: Any, *, grouping: str | None = None, top: int = 15) -> go.Figure:
    """Mean |SHAP| per feature with bootstrap whiskers, overall or one bar per group.

    Parameters
    ----------
    explanation : auditapp.explain.Explanation
    grouping : str, optional
        A grouping name (``"sex"``, ``"sex × ethnicity"``) to show one bar per group; None for all
        rows together.
    top : int, default 15
        Show the most important features only.

    Raises
    ------
    AuditInputError
        If ``grouping`` is not one of the explanation's groupings.
    """
    attributions = explanation.attributions
    features = list(attributions.importance.index[:top])[::-1]
    sample = explanation.sample
    fig = go.Figure()
    if grouping is None:
        table = attributions.importance.loc[features]
        fig.add_trace(_bars(table, "all rows", color_for(0)))
        title = "What drives the model: mean |SHAP| per feature"
        shown = [("all rows", table)]
    else:
        by_group = attributions.importance_by_group
        names = list(dict.fromkeys(by_group["grouping"]))
        if grouping not in names:
            raise AuditInputError(
                f"'{grouping}' is not a grouping of this explanation; choose one of: {', '.join(names)}."
            )
        rows = by_group[by_group["grouping"] == grouping]
        shown = [(str(group), part.set_index("feature").loc[features])
                 for group, part in rows.groupby("group", sort=True)]
        for index, (group, table) in enumerate(shown):
            fig.add_trace(_bars(table, escape(group), color_for(index), pattern_for(index)))
        title = f"What drives the model, by {escape(grouping)}: mean |SHAP| per feature"
    base_layout(fig, title=title, xaxis_title=f"mean |SHAP| ({escape(explanation.shap.output_label)})")
    # Room for the title, caption, legend and axis title (~260 px) plus 28 px a bar: the bars never squeeze.
    fig.update_layout(barmode="group", height=max(320, 260 + 28 * len(features) * len(fig.data)))
    level = int(round(attributions.confidence * 100))
    add_caption(fig, f"Whiskers: {level}% bootstrap intervals over the {sample.n_rows:,} sampled "
                     f"rows (at most {sample.rows_per_group:,} per group, seed {sample.seed}).")
    return describe(fig, *_importance_text(shown, grouping, explanation.shap.output_label, level))


def _importance_text(shown: Any, grouping: str | None, output: str, level: int) -> Text:
    top = []
    for name, table in shown:
        ranked = table["mean_abs_shap"].sort_values(ascending=False).head(3)
        top.append(f"{name}: " + ", ".join(f"{f} {v:.4f}" for f, v in ranked.items()))
    scope = "over all sampled rows" if grouping is None else f"within each group of {grouping}"
    summary = (f"Horizontal bars of mean |SHAP| ({output}) per feature {scope}, {len(shown[0][1])} features, "
               f"with {level}% intervals. Largest: {listing(top, limit=12)}.")
    rows = [[name, str(feature), f"{r['mean_abs_shap']:.4f}", f"{r['low']:.4f}–{r['high']:.4f}"]
            for name, table in shown for feature, r in table.iloc[::-1].iterrows()]
    return summary, ["Rows" if grouping is None else "Group", "Feature", "Mean |SHAP|", f"{level}% interval"], rows


def _bars(table: pd.DataFrame, name: str, colour: str, pattern: str = "") -> go.Bar:
    """One bar per feature (the table's index); ``name`` is already escaped."""
    value = table["mean_abs_shap"].to_numpy(dtype=float)
    low, high = table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float)
    return go.Bar(
        x=value, y=[escape(f) for f in table.index], orientation="h", name=name,
        marker={"color": colour, "line": {"color": colour, "width": 1},
                "pattern": {"shape": pattern, "fgcolor": "#ffffff", "fgopacity": 0.9}},
        error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(high - value),
                 "arrayminus": np.nan_to_num(value - low), "color": "#444444"},
        customdata=np.column_stack([low, high]),
        hovertemplate=(f"{name}<br>%{{y}}: %{{x:.4f}} [%{{customdata[0]:.4f}}, "
                       "%{customdata[1]:.4f}]<extra></extra>"),
    )


def gap_waterfall_figure(gap: Any, *, top: int = 10) -> go.Figure:
    """Waterfall from the reference group's mean output to the group's, one step per feature.

    Steps in the direction of the total gap widen it (orange); the others narrow it (blue).
    Features beyond ``top`` are summed into one "other features" step.

    Parameters
    ----------
    gap : auditapp.explain.GapAttribution
    top : int, default 10
    """
    contributions = gap.contributions
    shown, rest = contributions.iloc[:top], contributions.iloc[top:]
    labels = [escape(f) for f in shown.index]
    values = shown["value"].to_numpy(dtype=float).tolist()
    lows, highs = shown["low"].tolist(), shown["high"].tolist()
    if len(rest):
        labels.append(f"{len(rest)} other features")
        values.append(float(rest["value"].sum()))
        lows.append(None)
        highs.append(None)
    group, reference = escape(gap.group), escape(gap.reference)
    start, end = f"{reference} (starting point)", group
    sign = 1.0 if gap.total >= 0 else -1.0
    def effect_colour(value: float) -> str:
        return WIDENS if value * sign > 0 else NARROWS

    fig = go.Figure(step_bars(
        [start, *labels, end], gap.mean_reference, values, gap.mean_group,
        colours=[effect_colour(v) for v in values],
        customdata=[[None, None], *[[plain(lo), plain(hi)] for lo, hi in zip(lows, highs, strict=True)],
                    [plain(gap.total_low), plain(gap.total_high)]],
        hovertemplate="%{x}: %{y:+.4f}<extra></extra>",
    ))
    add_connectors(fig, gap.mean_reference, values)
    for colour, name in ((WIDENS, "widens the gap"), (NARROWS, "narrows the gap")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker={"color": colour, "symbol": "square", "size": 12}))
    grouping = " × ".join(escape(g) for g in gap.grouping)
    interval = ("" if plain(gap.total_low) is None
                else f" [{gap.total_low:+.3f}, {gap.total_high:+.3f}]")
    base_layout(fig, title=f"Why {group} and {reference} differ ({grouping}): gap "
                           f"{gap.total:+.3f}{interval}",
                yaxis_title=f"mean {escape(gap.output_space)}")
    caption = (f"Each step is one feature's mean SHAP over {group} minus over {reference}; the steps add up "
               "exactly to the gap.")
    levels = np.cumsum([gap.mean_reference, *values])
    low, high = float(min(levels.min(), gap.mean_group)), float(max(levels.max(), gap.mean_group))
    if low > 0 and high - low < 0.5 * low:
        # Amounts (a price of 190 and a gap of 3): from 0 the steps would be invisible. Start the axis near them.
        pad = max(0.25 * (high - low), 1e-9 * high)
        fig.update_yaxes(range=[low - pad, high + pad])
        caption += f" The axis starts at {low - pad:.4g}, not 0, so the steps show."
    add_caption(fig, caption)
    return describe(fig, *_gap_text(gap, shown, rest, sign))


def _gap_text(gap: Any, shown: Any, rest: Any, sign: float) -> Text:
    def effect(value: float) -> str:
        return "widens the gap" if value * sign > 0 else "narrows the gap"

    steps = [f"{f} {v:+.4f} ({effect(v)})" for f, v in shown["value"].head(3).items()]
    summary = (f"Waterfall from the mean output of {gap.reference}, {gap.mean_reference:.4f}, to that of "
               f"{gap.group}, {gap.mean_group:.4f} ({gap.output_space}): gap {gap.total:+.4f}. "
               f"Biggest steps: {listing(steps)}.")
    rows = [[str(f), f"{r['value']:+.4f}", effect(r["value"]),
             "n/a" if plain(r["low"]) is None else f"{r['low']:+.4f} to {r['high']:+.4f}"]
            for f, r in shown.iterrows()]
    if len(rest):
        value = float(rest["value"].sum())
        rows.append([f"{len(rest)} other features", f"{value:+.4f}", effect(value), "n/a"])
    return summary, ["Feature", "Step", "Effect", "Interval"], rows


def local_waterfall_figure(local: Any, *, top: int = 10) -> go.Figure:
    """One row: from the base value (average output) to the row's output, one step per feature.

    Parameters
    ----------
    local : auditapp.explain.LocalExplanation
    top : int, default 10
    """
    table = local.contributions
    shown, rest = table.iloc[:top], table.iloc[top:]
    labels = [f"{escape(f)} = {escape(v)}" for f, v in zip(shown.index, shown["value"], strict=True)]
    values = shown["shap"].to_numpy(dtype=float).tolist()
    if len(rest):
        labels.append(f"{len(rest)} other features")
        values.append(float(rest["shap"].sum()))
    fig = go.Figure(step_bars(
        ["average (base value)", *labels, f"row {escape(local.row)}"], local.base_value, values, local.output,
        colours=[color_for(2) if v >= 0 else color_for(1) for v in values], horizontal=True,
        hovertemplate="%{y}: %{x:+.4f}<extra></extra>",
    ))
    add_connectors(fig, local.base_value, values, horizontal=True)
    base_layout(fig, title=f"Why row {escape(local.row)} gets {local.output:.3f}",
                xaxis_title=escape(local.output_space))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(320, 60 + 30 * (len(values) + 2)))
    pushes = [f"{f} = {v} {s:+.4f}" for f, v, s in zip(shown.index, shown["value"], shown["shap"], strict=True)]
    rows = [[f"{f} = {v}", f"{s:+.4f}"] for f, v, s in zip(shown.index, shown["value"], shown["shap"], strict=True)]
    if len(rest):
        rows.append([f"{len(rest)} other features", f"{float(rest['shap'].sum()):+.4f}"])
    summary = (f"Waterfall for row {local.row}: from the average output {local.base_value:.4f} to its output "
               f"{local.output:.4f} ({local.output_space}). Biggest pushes: {listing(pushes[:3])}.")
    return describe(fig, summary, ["Feature = value", "SHAP"], rows)


def dependence_figure(data: pd.DataFrame, *, feature: str, output_space: str) -> go.Figure:
    """SHAP value of ``feature`` against its value, one colour per group.

    ``data`` comes from ``auditapp.explain.dependence_data``; each point's row id is its
    ``customdata[0]`` so a click can select the row for the local view (``customdata[1]`` is the
    same id escaped for the hover text).
    """
    if data.empty:
        return empty_figure("No sampled rows to plot.", title=f"Effect of {feature}")
    label = escape(feature)
    fig = go.Figure()
    for index, (group, part) in enumerate(data.groupby("group", sort=True)):
        rows = part["row"].tolist()
        values = part["value"].tolist()
        symbol = symbol_for(index)
        fig.add_trace(go.Scatter(
            x=[escape(v) if isinstance(v, str) else v for v in values], y=part["shap"].to_numpy(dtype=float),
            mode="markers", name=escape(group),
            customdata=np.asarray([[r, escape(r)] for r in rows], dtype=object).reshape(len(rows), 2),
            marker={"color": color_for(index), "size": 6, "opacity": 0.7, "symbol": symbol},
            hovertemplate=f"{escape(group)}<br>row %{{customdata[1]}}<br>{label} = %{{x}}<br>"
                          "SHAP %{y:+.4f}<extra></extra>",
        ))
    base_layout(fig, title=f"How {label} moves the model's output, by group", xaxis_title=label,
                yaxis_title=f"SHAP value ({escape(output_space)})")
    add_caption(fig, "Each point is a sampled row; click one to explain it on its own.")
    parts = [f"{group}: {len(part)} rows, SHAP from {part['shap'].min():+.4f} to {part['shap'].max():+.4f}"
             for group, part in data.groupby("group", sort=True)]
    summary = (f"Scatter of the SHAP value of {feature} ({output_space}) against its value, one point per "
               f"sampled row, by group: {listing(parts, limit=12)}.")
    ordered = data.sort_values(["group", "row"])
    rows = [[str(r["row"]), str(r["group"]), str(r["value"]), f"{float(r['shap']):+.4f}"]
            for _, r in ordered.iterrows()]
    return describe(fig, summary, ["Row", "Group", str(feature), "SHAP"], rows)


# The proxy table's columns (AG Grid column definitions), for the rows of :func:`proxy_rows`.
PROXY_COLUMNS = [
    {"headerName": "Feature", "field": "feature", "pinned": "left", "width": 200},
    {"headerName": "Predicts", "field": "sensitive", "width": 120},
    {"headerName": "Group it singles out", "field": "group", "width": 170},
    {"headerName": "AUC", "field": "auc", "width": 100,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"}},
    {"headerName": "NMI", "field": "nmi", "width": 100,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.3f')(params.value)"}},
    {"headerName": "Flagged", "field": "flagged", "width": 110},
    {"headerName": "In plain words", "field": "explanation", "flex": 1, "minWidth": 420, "wrapText": True,
     "autoHeight": True, "cellStyle": {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px"}},
]


def proxy_rows(report: Any) -> list[dict[str, Any]]:
    """Rows for the proxy table: one per (feature, attribute), then the all-features rows."""
    rows = [{"feature": r["feature"], "sensitive": r["sensitive"], "group": r["group"],
             "auc": plain(r["score"]), "nmi": plain(r["nmi"]), "flagged": bool(r["flagged"]),
             "explanation": r["sentence"]} for _, r in report.features.iterrows()]
    rows += [{"feature": "(all non-sensitive features)", "sensitive": r["sensitive"], "group": r["group"],
              "auc": plain(r["score"]), "nmi": None, "flagged": bool(r["flagged"]),
              "explanation": r["sentence"]} for _, r in report.combined.iterrows()]
    return rows
