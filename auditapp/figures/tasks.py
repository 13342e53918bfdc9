"""Figures of regression and multiclass audits: metric bars with intervals, per-group box plots of
predictions and residuals, cutoff rates, per-class rates and per-group confusion heatmaps.

Each figure carries its text alternative (a summary and a table of its numbers, ``describe``); groups in
the per-class bars are told apart by pattern as well as colour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from auditapp.figures import OKABE_ITO, add_caption, base_layout, escape, pattern_for
from auditapp.figures.describe import cell, describe, listing
from auditapp.figures.metrics_text import Text

_NAMES = {"mean_outcome": "mean outcome", "mean_prediction": "mean prediction",
          "mean_error": "mean error (prediction − outcome)", "mean_absolute_error": "mean absolute error",
          "root_mean_squared_error": "root mean squared error", "r2": "R²",
          "standardized_mean_difference": "standardized mean difference of predictions vs reference"}


def _interval_bar(labels: Any, values: Any, low: Any, high: Any, counts: Any, *, title: str, yaxis: str,
                  percent: bool = False) -> go.Figure:
    values, low, high = (np.asarray(v, dtype=float) for v in (values, low, high))
    fig = go.Figure(go.Bar(
        x=[escape(x) for x in labels], y=values, marker_color=OKABE_ITO[0],
        error_y={"type": "data", "symmetric": False, "array": np.nan_to_num(high - values),
                 "arrayminus": np.nan_to_num(values - low), "color": "#333333"},
        customdata=np.column_stack([low, high, counts]),
        hovertemplate="%{x}: %{y:.4g} [%{customdata[0]:.4g}, %{customdata[1]:.4g}] (n=%{customdata[2]:,})"
                      "<extra></extra>"))
    base_layout(fig, title=title, xaxis_title="group", yaxis_title=yaxis, percent_y=percent)
    return fig


def _bar_text(kind: str, labels: Any, values: Any, low: Any, high: Any, counts: Any, *,
              percent: bool = False) -> Text:
    """Summary, columns and rows of a one-bar-per-group chart with intervals."""
    show = (lambda v: "n/a" if v != v else f"{v:.1%}") if percent else cell
    values = [float(v) for v in values]
    rows = [[str(g), show(v), f"{show(float(lo))} to {show(float(hi))}", int(n)]
            for g, v, lo, hi, n in zip(labels, values, low, high, counts, strict=True)]
    known = [(v, str(g)) for g, v in zip(labels, values, strict=True) if v == v]
    extremes = (f" Highest: {max(known)[1]} ({show(max(known)[0])}); lowest: {min(known)[1]} "
                f"({show(min(known)[0])}).") if known else ""
    return (f"Bar chart of {kind} for {len(rows)} groups, with interval whiskers.{extremes}",
            ["Group", kind.capitalize(), "Interval", "n"], rows)


def regression_metric_figure(grouping: Any, metric: str) -> go.Figure:
    """Bars of one regression metric per group, whiskers at the bootstrap interval."""
    t = grouping.groups
    fig = _interval_bar(t.index, t[metric], t[f"{metric}_low"], t[f"{metric}_high"], t["count"],
                        title=f"{_NAMES.get(metric, metric).capitalize()} by {grouping.name}",
                        yaxis=_NAMES.get(metric, metric))
    add_caption(fig, f"Whiskers: bootstrap interval · reference group: {escape(grouping.reference)}")
    return describe(fig, *_bar_text(f"{_NAMES.get(metric, metric)} by {grouping.name}", t.index, t[metric],
                                    t[f"{metric}_low"], t[f"{metric}_high"], t["count"]))


def distribution_figure(summary: Any, *, what: str, title: str) -> go.Figure:
    """Box plot per group from precomputed quantiles (whiskers at the 5th and 95th percentiles)."""
    fig = go.Figure()
    for i, (label, row) in enumerate(summary.iterrows()):
        fig.add_trace(go.Box(  # x: each group's box at its own place, named on the axis
            name=escape(label), x=[escape(label)], q1=[row["q25"]], median=[row["q50"]], q3=[row["q75"]],
            lowerfence=[row["q05"]], upperfence=[row["q95"]], mean=[row["mean"]],
            marker_color=OKABE_ITO[i % len(OKABE_ITO)], showlegend=False))
    base_layout(fig, title=title, xaxis_title="group", yaxis_title=what)
    add_caption(fig, "Box: 25th–75th percentile, line: median, dashed: mean; whiskers: 5th–95th percentile")
    columns = ["Group", "5th percentile", "25th", "Median", "75th", "95th", "Mean"]
    rows = [[str(label), *(cell(float(row[k])) for k in ("q05", "q25", "q50", "q75", "q95", "mean"))]
            for label, row in summary.iterrows()]
    medians = listing([f"{label} {cell(float(row['q50']))}" for label, row in summary.iterrows()])
    return describe(fig, f"Box plot of {what} per group ({len(rows)} groups). Medians: {medians}.", columns, rows)


def cutoff_figure(rates: Any, *, cutoff: float, features: Any) -> go.Figure:
    """Share of each group predicted above the cutoff, with intervals."""
    fig = _interval_bar(rates.index, rates["rate"], rates["rate_low"], rates["rate_high"], rates["count"],
                        title=f"Share predicted above {cutoff:,.4g} by {' × '.join(features)}",
                        yaxis="share above the cutoff", percent=True)
    fig.update_yaxes(range=[0, 1])
    add_caption(fig, "Whiskers: Wilson interval of each group's share (as for selection rates)")
    return describe(fig, *_bar_text(f"share predicted above {cutoff:,.4g}", rates.index, rates["rate"],
                                    rates["rate_low"], rates["rate_high"], rates["count"], percent=True))


def class_rate_figure(grouping: Any, prefix: str = "class_rate") -> go.Figure:
    """Grouped bars: per class, each group's rate (``class_rate``, ``tpr``, ``fpr`` or ``precision``)."""
    t = grouping.groups
    fig = go.Figure()
    for i, (label, row) in enumerate(t.iterrows()):
        values = np.array([row[f"{prefix}:{c}"] for c in grouping.classes], dtype=float)
        low = np.array([row[f"{prefix}:{c}_low"] for c in grouping.classes], dtype=float)
        high = np.array([row[f"{prefix}:{c}_high"] for c in grouping.classes], dtype=float)
        fig.add_trace(go.Bar(
            name=escape(label), x=[escape(c) for c in grouping.classes], y=values,
            marker={"color": OKABE_ITO[i % len(OKABE_ITO)], "pattern": {"shape": pattern_for(i)}},
            error_y={"type": "data", "symmetric": False, "array": np.nan_to_num(high - values),
                     "arrayminus": np.nan_to_num(values - low)},
            hovertemplate=f"{escape(label)}, class %{{x}}: %{{y:.1%}}<extra></extra>"))
    words = {"class_rate": "Share assigned each class", "tpr": "True positive rate per class (one vs rest)",
             "fpr": "False positive rate per class (one vs rest)", "precision": "Precision per class (one vs rest)"}
    base_layout(fig, title=f"{words[prefix]} by {grouping.name}", xaxis_title="class", yaxis_title="rate",
                percent_y=True)
    fig.update_layout(barmode="group")
    add_caption(fig, "Whiskers: Wilson interval with exact ends")

    def pct(v: float) -> str:
        return "n/a" if v != v else f"{v:.1%}"

    rows = [[str(label), str(c), pct(float(row[f"{prefix}:{c}"])),
             f"{pct(float(row[f'{prefix}:{c}_low']))} to {pct(float(row[f'{prefix}:{c}_high']))}", int(row["count"])]
            for label, row in t.iterrows() for c in grouping.classes]
    return describe(fig, f"Grouped bar chart: {words[prefix].lower()} by {grouping.name}, "
                         f"{len(grouping.classes)} classes × {len(t)} groups, with interval whiskers.",
                    ["Group", "Class", "Rate", "Interval", "n"], rows)


def confusion_figure(grouping: Any, label: str) -> go.Figure:
    """Heatmap of one group's confusion matrix, row-normalised, with the counts in the cells."""
    counts = grouping.confusion[label]
    share = grouping.normalized_confusion(label)
    classes = [escape(c) for c in grouping.classes]
    fig = go.Figure(go.Heatmap(
        z=share.to_numpy(dtype=float), x=classes, y=classes, zmin=0, zmax=1, colorscale="Blues",
        text=counts.to_numpy().astype(str), texttemplate="%{text}", customdata=counts.to_numpy(),
        hovertemplate="true %{y}, predicted %{x}: %{z:.1%} of the true class (%{customdata:,} rows)<extra></extra>",
        colorbar={"title": "share of row", "tickformat": ".0%"}))
    base_layout(fig, title=f"Confusion matrix of {escape(label)} ({grouping.name})", xaxis_title="predicted class",
                yaxis_title="true class")
    fig.update_yaxes(autorange="reversed")
    add_caption(fig, "Colour: share of the true class's rows; numbers: row counts")
    names = [str(c) for c in grouping.classes]
    rows = [[t, p, int(counts.iloc[i, j]), f"{float(share.iloc[i, j]):.1%}"]
            for i, t in enumerate(names) for j, p in enumerate(names)]
    right = sum(int(counts.iloc[i, i]) for i in range(len(names)))
    total = int(np.asarray(counts).sum())
    return describe(fig, f"Confusion matrix of {label} ({grouping.name}): {len(names)} classes; {right:,} of "
                         f"{total:,} rows on the diagonal (predicted as their true class).",
                    ["True class", "Predicted class", "Rows", "Share of the true class"], rows)
