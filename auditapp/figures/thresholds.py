"""Figures and table rows for the Threshold explorer page, from the tables of ``auditapp.core.scores``.

Inputs are the engine's tidy tables: ``ThresholdIndex.curves(grid)`` (per-group rates over
thresholds), ``roc_curves`` and ``roc_auc``, ``calibration_table`` and ``ThresholdIndex.rates_at(t)``.
A group keeps its colour across every figure of the page: colours follow the sorted group labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from auditapp.core.errors import AuditInputError
from auditapp.core.narrative import format_ci, format_pct, format_ratio
from auditapp.core.rates import LABELS, METRICS
from auditapp.figures import (
    add_caption,
    base_layout,
    color_for,
    dash_for,
    empty_figure,
    escape,
    plain,
    symbol_for,
)
from auditapp.figures.describe import describe, every_nth, listing
from auditapp.figures.metrics_text import Text

CURVE_METRICS: tuple[str, ...] = ("selection_rate", "true_positive_rate", "false_positive_rate")
TABLE_METRICS: tuple[str, ...] = (
    "selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy",
)
NO_SCORES = "No scores: add a score column or a model to explore thresholds."
DIAGONAL = {"color": "#888888", "dash": "dot", "width": 1.5}


def group_colours(labels: Sequence[Any]) -> dict[str, str]:
    """One palette colour per group label, in sorted order, so every figure agrees."""
    return {label: color_for(i) for i, label in enumerate(sorted(map(str, set(labels))))}


def group_styles(labels: Sequence[Any]) -> dict[str, tuple[str, str, str]]:
    """Per group label (sorted): colour, line dash and marker symbol, so groups differ in more than colour."""
    return {label: (color_for(i), dash_for(i), symbol_for(i))
            for i, label in enumerate(sorted(map(str, set(labels))))}


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AuditInputError(
            f"The {what} table lacks the column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}. Build it with auditapp.core.scores."
        )


def threshold_curves_figure(curves_df: pd.DataFrame, threshold: float,
                            metric: str | Sequence[str] = CURVE_METRICS) -> go.Figure:
    """Per-group rate curves over the threshold, with the current threshold marked.

    Parameters
    ----------
    curves_df : DataFrame
        ``ThresholdIndex.curves(grid)``: columns ``threshold``, ``group`` and the metrics.
    threshold : float
        The current threshold (a dashed vertical line in every panel).
    metric : str or sequence of str
        One metric (one panel) or several (side-by-side panels sharing the y axis).

    Returns
    -------
    go.Figure
        One line per (group, metric); a group has one colour and one legend entry across panels.
        ``layout.shapes[i]`` is the threshold line of panel ``i`` (so a caller can move it in place).

    Raises
    ------
    AuditInputError
        If a metric is unknown or missing from the table.
    """
    metrics = (metric,) if isinstance(metric, str) else tuple(metric)
    unknown = [str(m) for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise AuditInputError(
            f"Unknown metric(s): {', '.join(unknown) or '(none given)'}. "
            f"Choose from: {', '.join(CURVE_METRICS)}."
        )
    _require(curves_df, ("threshold", "group", *metrics), "threshold curves")
    if curves_df.empty:
        return empty_figure(NO_SCORES, title="Rates by threshold")
    fig = make_subplots(rows=1, cols=len(metrics), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[LABELS[m] for m in metrics])
    styles = group_styles(curves_df["group"])
    for col, name in enumerate(metrics, start=1):
        for label, part in curves_df.groupby("group", sort=True):
            colour, dash, _ = styles[str(label)]
            fig.add_trace(go.Scatter(
                x=part["threshold"].tolist(), y=[plain(v) for v in part[name]], mode="lines",
                name=escape(label), legendgroup=escape(label), showlegend=col == 1,
                line={"color": colour, "width": 2, "dash": dash},
                hovertemplate=(f"<b>{escape(label)}</b><br>threshold %{{x:.3f}}: {LABELS[name].lower()} "
                               "%{y:.1%}<extra></extra>"),
            ), row=1, col=col)
        fig.add_vline(x=float(threshold), line={"color": "#333333", "dash": "dash", "width": 1.5},
                      row=1, col=col)
    title = (f"{LABELS[metrics[0]]} by threshold" if len(metrics) == 1
             else "Rates by threshold, per group")
    # The threshold is not in the title: the app moves the dashed lines in place (``layout.shapes``,
    # one per panel, in panel order) when the slider moves, and a title would go stale.
    base_layout(fig, title=title, percent_y=True)
    fig.update_xaxes(title_text="Score threshold", range=[
        float(curves_df["threshold"].min()), float(curves_df["threshold"].max())])
    fig.update_yaxes(range=[-0.02, 1.02])
    fig.update_yaxes(title_text="Rate", row=1, col=1)
    fig.update_layout(margin={"t": 150}, legend={"y": 1.1, "title": {"text": "Group "}})
    add_caption(fig, "A row is selected when its score is at or above the threshold. "
                     "Dashed line: the current threshold.")
    summary, columns, rows, note = _curves_text(curves_df, metrics)
    return describe(fig, summary, columns, rows, note=note)


def _curves_text(curves_df: pd.DataFrame, metrics: Sequence[str]) -> tuple[str, list[str], list[list[Any]], str]:
    groups = sorted(map(str, curves_df["group"].unique()))
    thresholds, step = every_nth(sorted(curves_df["threshold"].unique()), 21)
    picked = curves_df[curves_df["threshold"].isin(thresholds)].sort_values(["group", "threshold"])
    low, high = float(curves_df["threshold"].min()), float(curves_df["threshold"].max())
    summary = (f"Line chart of {listing([LABELS[m].lower() for m in metrics])} against the score threshold, "
               f"from {low:g} to {high:g}, one line per group: {listing(groups)}. A dashed line marks the "
               "current threshold; the table at this threshold is above the chart.")
    rows = [[str(r["group"]), f"{float(r['threshold']):.2f}", *(format_pct(r[m]) for m in metrics)]
            for _, r in picked.iterrows()]
    note = f"Every {step}th threshold of the curve." if step > 1 else ""
    return summary, ["Group", "Threshold", *(LABELS[m] for m in metrics)], rows, note


def roc_figure(roc_df: pd.DataFrame, auc_table: pd.DataFrame,
               threshold_points: pd.DataFrame | None = None, *, confidence: float = 0.95) -> go.Figure:
    """Per-group ROC curves with the chance diagonal and the current operating points.

    Parameters
    ----------
    roc_df : DataFrame
        ``roc_curves(index)``: columns ``group``, ``fpr``, ``tpr``, ``threshold``.
    auc_table : DataFrame
        ``roc_auc(index)``: indexed by group with ``roc_auc``, ``roc_auc_low``, ``roc_auc_high``;
        shown in each group's legend entry.
    threshold_points : DataFrame, optional
        ``ThresholdIndex.rates_at(t)``: indexed by group with ``false_positive_rate`` and
        ``true_positive_rate``; one marker per group at the current threshold.
    confidence : float
        The AUC interval level, for the legend text.

    Returns
    -------
    go.Figure
        Traces: the diagonal, one line per group of ``roc_df`` (sorted), then (if given) one marker
        trace of operating points, one per row of ``threshold_points`` in sorted order.

    Raises
    ------
    AuditInputError
        If a table lacks its columns.
    """
    _require(roc_df, ("group", "fpr", "tpr"), "ROC")
    if roc_df.empty:
        return empty_figure("No ROC curve: no group has both favourable and unfavourable labels, "
                            "or there are no scores.", title="ROC curve per group")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=DIAGONAL, name="chance",
                               hoverinfo="skip"))
    labels = sorted(set(map(str, roc_df["group"])) | set(map(str, auc_table.index)))
    styles = group_styles(labels)
    colours = {label: style[0] for label, style in styles.items()}
    level = f"{confidence:.0%} CI"
    for label, part in roc_df.groupby("group", sort=True):
        label = str(label)
        auc_text = ""
        if label in auc_table.index:
            row = auc_table.loc[label]
            auc_text = (f" (AUC {format_ratio(row['roc_auc'])}, {level} "
                        f"{format_ci(row['roc_auc_low'], row['roc_auc_high'], percent=False)})")
        fig.add_trace(go.Scatter(
            x=part["fpr"].tolist(), y=part["tpr"].tolist(), mode="lines", name=f"{escape(label)}{auc_text}",
            legendgroup=escape(label), line={"color": colours[label], "width": 2, "dash": styles[label][1]},
            hovertemplate=f"<b>{escape(label)}</b><br>FPR %{{x:.1%}}, TPR %{{y:.1%}}<extra></extra>",
        ))
    if threshold_points is not None and not threshold_points.empty:
        _require(threshold_points, ("false_positive_rate", "true_positive_rate"), "rates at the threshold")
        points = threshold_points.sort_index()
        names = [str(g) for g in points.index]
        fig.add_trace(go.Scatter(
            x=[plain(v) for v in points["false_positive_rate"]],
            y=[plain(v) for v in points["true_positive_rate"]],
            mode="markers", name="current threshold", text=[escape(n) for n in names],
            marker={"color": [colours.get(n, color_for(len(colours))) for n in names], "size": 13,
                    "symbol": [styles[n][2] if n in styles else "circle" for n in names],
                    "line": {"color": "#000000", "width": 1.5}},
            hovertemplate="<b>%{text}</b> at the current threshold<br>FPR %{x:.1%}, TPR %{y:.1%}"
                          "<extra></extra>",
        ))
    base_layout(fig, title="ROC curve per group", xaxis_title="False positive rate",
                yaxis_title="True positive rate", percent_y=True)
    fig.update_xaxes(tickformat=".0%", range=[0, 1], constrain="domain")
    fig.update_yaxes(range=[0, 1], scaleanchor="x", scaleratio=1)
    # Group names with their AUC are long: a legend under the plot keeps the title readable.
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0},
                      margin={"b": 110})
    return describe(fig, *_roc_text(labels, auc_table, threshold_points, level))


def threshold_moves(threshold: float, threshold_points: pd.DataFrame, *, roc_curves: int,
                    panels: int = len(CURVE_METRICS)) -> dict[str, list[tuple[tuple[Any, ...], object]]]:
    """What moving the threshold changes in the two figures above, as ``(path, new value)`` per figure.

    The figures keep the threshold in known places (the dashed line of each curves panel is
    ``layout.shapes[i]``; the ROC operating points are the trace after the diagonal and the
    ``roc_curves`` group curves); this is the one place that knows them, so a caller can move the
    threshold in place (e.g. with a Dash ``Patch``) without redrawing or counting traces itself.
    ``tests/auditapp/test_figures_metrics.py`` checks that applying the moves to a figure drawn at one
    threshold gives the figure drawn at the other.

    Parameters
    ----------
    threshold : float
    threshold_points : DataFrame
        ``ThresholdIndex.rates_at(threshold)`` (as for :func:`roc_figure`).
    roc_curves : int
        How many group curves the ROC figure has (``ThresholdIndex.with_both_outcomes()``).
    panels : int
        How many panels the curves figure has (one per metric).
    """
    t = float(threshold)
    points = threshold_points.sort_index()
    curves: list[tuple[tuple[Any, ...], object]] = [(("layout", "shapes", i, end), t) for i in range(panels)
                                          for end in ("x0", "x1")]
    roc: list[tuple[tuple[Any, ...], object]] = [(("data", roc_curves + 1, "x"), [plain(v) for v in points["false_positive_rate"]]),
           (("data", roc_curves + 1, "y"), [plain(v) for v in points["true_positive_rate"]])]
    return {"curves": curves, "roc": roc}


def _roc_text(labels: Sequence[Any], auc_table: pd.DataFrame, points: pd.DataFrame | None, level: str) -> Text:
    def auc(label: Any) -> tuple[str, str]:
        if label not in auc_table.index:
            return "n/a", "n/a"
        row = auc_table.loc[label]
        return format_ratio(row["roc_auc"]), format_ci(row["roc_auc_low"], row["roc_auc_high"], percent=False)

    parts = [f"{label} AUC {auc(label)[0]} ({level} {auc(label)[1]})" for label in labels]
    summary = (f"ROC curves, true positive rate against false positive rate, for {len(labels)} groups: "
               f"{listing(parts, limit=12)}. The dotted diagonal is chance; markers show each group at the "
               "current threshold.")
    rows = []
    for label in labels:
        at = points.loc[label] if points is not None and label in map(str, points.index) else None
        rows.append([label, *auc(label),
                     format_pct(at["false_positive_rate"]) if at is not None else "n/a",
                     format_pct(at["true_positive_rate"]) if at is not None else "n/a"])
    return summary, ["Group", "AUC", level, "FPR at the threshold", "TPR at the threshold"], rows


def calibration_figure(calibration_df: pd.DataFrame, *, confidence: float = 0.95) -> go.Figure:
    """Observed favourable rate against mean score per score bin and group, with Wilson CIs.

    Parameters
    ----------
    calibration_df : DataFrame
        ``calibration_table(...)``: columns ``group``, ``mean_score``, ``observed_rate``,
        ``observed_low``, ``observed_high``, ``count``, ``bin_low``, ``bin_high``.
    confidence : float
        The interval level, for the hover text.

    Returns
    -------
    go.Figure
        The diagonal (perfect calibration), then one line-and-marker trace per group whose error
        bars run from ``observed_low`` to ``observed_high``.

    Raises
    ------
    AuditInputError
        If the table lacks its columns.
    """
    needed = ("group", "mean_score", "observed_rate", "observed_low", "observed_high", "count",
              "bin_low", "bin_high")
    _require(calibration_df, needed, "calibration")
    if calibration_df.empty:
        return empty_figure(NO_SCORES, title="Calibration per group")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=DIAGONAL,
                               name="perfectly calibrated", hoverinfo="skip"))
    styles = group_styles(calibration_df["group"])
    level = f"{confidence:.0%} CI"
    for label, part in calibration_df.groupby("group", sort=True):
        label = str(label)
        colour, dash, symbol = styles[label]
        rate, low, high = (part[c].to_numpy(dtype=float) for c in ("observed_rate", "observed_low",
                                                                   "observed_high"))
        columns = zip(part["count"], part["bin_low"], part["bin_high"], rate, low, high, strict=True)
        # Score bins hold their lower edge and not their upper one; the top bin also holds its upper edge.
        top = float(calibration_df["bin_high"].max())
        customdata = [[int(n), f"[{lo_bin:.2f}, {hi_bin:.2f}{']' if hi_bin >= top else ')'}", format_pct(r),
                       format_ci(lo, hi)] for n, lo_bin, hi_bin, r, lo, hi in columns]
        fig.add_trace(go.Scatter(
            x=part["mean_score"].tolist(), y=rate.tolist(), mode="lines+markers", name=escape(label),
            line={"color": colour, "width": 2, "dash": dash}, marker={"size": 8, "symbol": symbol},
            error_y={"type": "data", "symmetric": False, "array": (high - rate).tolist(),
                     "arrayminus": (rate - low).tolist(), "thickness": 1.2, "width": 3},
            customdata=customdata,
            hovertemplate=(f"<b>{escape(label)}</b>, scores %{{customdata[1]}}<br>mean score %{{x:.2f}}, "
                           f"observed %{{customdata[2]}} ({level} %{{customdata[3]}})"
                           "<br>n = %{customdata[0]}<extra></extra>"),
        ))
    base_layout(fig, title="Calibration per group",
                xaxis_title="Mean score in the bin", yaxis_title="Observed favourable rate",
                percent_y=True)
    fig.update_xaxes(range=[-0.02, 1.02])
    fig.update_yaxes(range=[-0.04, 1.04])
    add_caption(fig, f"Error bars: {level} (Wilson). On the dotted diagonal, a score of 0.7 means a "
                     "70% favourable rate.")
    return describe(fig, *_calibration_text(calibration_df, level))


def _calibration_text(calibration_df: pd.DataFrame, level: str) -> Text:
    groups = sorted(map(str, calibration_df["group"].unique()))
    bins = calibration_df[["bin_low", "bin_high"]].drop_duplicates()
    summary = (f"Calibration chart: in each of {len(bins)} score bins, the share who really had the favourable "
               f"outcome against the bin's mean score, for {listing(groups)}, with {level} error bars. Points on "
               "the dotted diagonal are well calibrated.")
    rows = [[str(r["group"]), f"{float(r['bin_low']):.2f}–{float(r['bin_high']):.2f}", f"{float(r['mean_score']):.3f}",
             format_pct(r["observed_rate"]), format_ci(r["observed_low"], r["observed_high"]), int(r["count"])]
            for _, r in calibration_df.sort_values(["group", "bin_low"]).iterrows()]
    return summary, ["Group", "Score bin", "Mean score", "Observed favourable rate", level, "n"], rows


def threshold_table_rows(rates_df: pd.DataFrame, *,
                         metrics: Sequence[str] = TABLE_METRICS) -> list[dict[str, Any]]:
    """Rows for an AG Grid of per-group rates at the current threshold.

    Parameters
    ----------
    rates_df : DataFrame
        ``ThresholdIndex.rates_at(t)``: indexed by group, with ``count`` and metric columns.
    metrics : sequence of str
        The metrics to include.

    Returns
    -------
    list of dict
        Keys: ``group``, ``n``, and per metric ``m`` (formatted, e.g. ``"43.1%"``) and ``m_value``
        (float or None, for sorting).

    Raises
    ------
    AuditInputError
        If a metric is unknown or missing from the table.
    """
    metrics = tuple(metrics)
    unknown = [str(m) for m in metrics if m not in METRICS]
    if unknown:
        raise AuditInputError(
            f"Unknown metric(s): {', '.join(unknown)}. Choose from: {', '.join(METRICS)}."
        )
    _require(rates_df, ("count", *metrics), "rates at the threshold")
    rows = []
    for label, row in rates_df.sort_index().iterrows():
        item = {"group": str(label), "n": int(row["count"])}
        for metric in metrics:
            item[metric] = format_pct(row[metric])
            item[f"{metric}_value"] = plain(row[metric])
        rows.append(item)
    return rows
