"""Figures and table rows for the Group metrics page: ``GroupingResult`` → ``go.Figure`` / rows.

Pure reshaping of what ``auditapp.core.metrics.compute_audit`` returned: per-group bars with confidence
error bars, disparities against the reference group with the four-fifths band, an intersectional
heatmap, and rows for an AG Grid table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go

from auditapp.core.errors import AuditInputError
from auditapp.core.gaps import AVERAGE_ODDS
from auditapp.core.metrics import GroupingResult
from auditapp.core.narrative import FOUR_FIFTHS, format_ci, format_pct, format_q, format_ratio
from auditapp.core.rates import LABELS, METRICS
from auditapp.figures import (
    MISSING_GREY,
    add_caption,
    base_layout,
    color_for,
    empty_figure,
    escape,
    is_missing,
    plain,
    with_alpha,
)
from auditapp.figures.describe import describe
from auditapp.figures.metrics_text import (
    FLAG_WORDS,  # noqa: F401  (re-exported: the words for flags)
    ci_text,
    disparity_text,
    flag_words,
    group_metric_text,
    heatmap_text,
)

SIGNIFICANCE_MARK = "★"


def _check_metrics(metrics: Sequence[str] | str) -> tuple[str, ...]:
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [str(m) for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise AuditInputError(
            f"Unknown metric(s): {', '.join(unknown) or '(none given)'}. "
            f"Choose one or more of: {', '.join(METRICS)}."
        )
    return metrics


def _is_small(flags: Any) -> bool:
    return "small_group" in tuple(flags)


def tick_label(label: str, flags: Any, *, is_reference: bool) -> str:
    """A group's axis label (escaped for Plotly), marked "(reference)" and/or "(small)"."""
    marks = (["reference"] if is_reference else []) + (["small"] if _is_small(flags) else [])
    return f"{escape(label)} ({', '.join(marks)})" if marks else escape(label)


def _error_arrays(values: Any, lows: Any, highs: Any) -> dict[str, Any] | None:
    """Asymmetric error bars from a CI, or None when no group has one (too few to estimate)."""
    plus = [None if is_missing(h) or is_missing(v) else float(h) - float(v)
            for v, h in zip(values, highs, strict=True)]
    minus = [None if is_missing(lo) or is_missing(v) else float(v) - float(lo)
             for v, lo in zip(values, lows, strict=True)]
    if all(p is None for p in plus):
        return None
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus,
            "color": "#333333", "thickness": 1.3, "width": 4}


def group_metric_figure(grouping: GroupingResult, metrics: Sequence[str] | str, *,
                        confidence: float = 0.95) -> go.Figure:
    """Grouped bars per group for the chosen metrics, with their confidence intervals.

    Parameters
    ----------
    grouping : GroupingResult
        One grouping of an ``AuditResult``.
    metrics : str or sequence of str
        Metric names from ``auditapp.core.rates.METRICS``; one bar trace each.
    confidence : float
        The interval level, only for the hover text (``AuditResult.confidence``).

    Returns
    -------
    go.Figure
        One ``go.Bar`` per metric; x are group labels (marked "(reference)" / "(small)"), error bars
        go from ``m_low`` to ``m_high``; small groups are hatched and lighter. ``customdata`` per bar:
        ``[n, formatted value, formatted CI, flags in words]``.

    Raises
    ------
    AuditInputError
        If a metric is unknown.
    """
    metrics = _check_metrics(metrics)
    groups = grouping.groups
    ticks = [tick_label(label, row["flags"], is_reference=bool(row["is_reference"]))
             for label, row in groups.iterrows()]
    small = [_is_small(f) for f in groups["flags"]]
    level = f"{confidence:.0%} CI"
    fig = go.Figure()
    for i, metric in enumerate(metrics):
        values = groups[metric].tolist()
        lows, highs = groups[f"{metric}_low"].tolist(), groups[f"{metric}_high"].tolist()
        colour = color_for(i)
        customdata = [[int(n), format_pct(v), ci_text(v, lo, hi), flag_words(f) or "none"]
                      for n, v, lo, hi, f in zip(groups["count"], values, lows, highs, groups["flags"],
                                                 strict=True)]
        fig.add_trace(go.Bar(
            x=ticks, y=[plain(v) for v in values], name=LABELS[metric],
            error_y=_error_arrays(values, lows, highs),
            marker={"color": [with_alpha(colour, 0.45) if s else colour for s in small],
                    "line": {"color": colour, "width": 1.5},
                    "pattern": {"shape": ["/" if s else "" for s in small], "fgcolor": colour}},
            customdata=customdata,
            hovertemplate=(f"<b>%{{x}}</b><br>{LABELS[metric]}: %{{customdata[1]}} "
                           f"({level} %{{customdata[2]}})<br>n = %{{customdata[0]}}"
                           "<br>flags: %{customdata[3]}<extra></extra>"),
        ))
    names = ", ".join(LABELS[m].lower() for m in metrics)
    base_layout(fig, title=f"{names[0].upper()}{names[1:]} by {escape(grouping.name)}",
                xaxis_title=escape(grouping.name), yaxis_title="Rate", percent_y=True)
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1])
    add_caption(fig, f"Error bars: {level} (Wilson score). No bar: too few to estimate. Hatched, lighter bars: "
                     "small groups.")
    return describe(fig, *group_metric_text(grouping, metrics, level))


def disparity_figure(grouping: GroupingResult, metric: str, *, kind: str = "ratio",
                     alpha: float = 0.05, confidence: float = 0.95) -> go.Figure:
    """Each group's metric against the reference group's, with CI whiskers.

    Parameters
    ----------
    grouping : GroupingResult
        One grouping of an ``AuditResult``.
    metric : str
        A metric name from ``auditapp.core.rates.METRICS``.
    kind : {"ratio", "difference"}
        Ratio (group ÷ reference, with the four-fifths band 0.8–1.25 and a line at 1) or difference
        (group − reference, with a line at 0).
    alpha : float
        Groups whose q-value is below it get a ★.
    confidence : float
        The interval level, for the caption and hover text.

    Returns
    -------
    go.Figure
        A horizontal point-and-whisker trace (one point per non-reference group), a "★" text trace
        for significant gaps, and the band/line as layout shapes. An empty figure when there is only
        one group.

    Raises
    ------
    AuditInputError
        If the metric or kind is unknown.
    """
    if metric != AVERAGE_ODDS:
        (metric,) = _check_metrics(metric)
    if kind not in ("ratio", "difference"):
        raise AuditInputError(f"kind must be 'ratio' or 'difference', but is {kind!r}. Pick one of those.")
    def heading(reference: str) -> str:
        return (f"{LABELS[metric]} relative to {reference}" if kind == "ratio"
                else f"{LABELS[metric]}: difference from {reference}")

    if metric == AVERAGE_ODDS and kind == "ratio":
        return empty_figure("The average odds difference is a difference of rates: choose “Difference”.",
                            title=LABELS[metric])
    rows = grouping.disparities[grouping.disparities["metric"] == metric]
    if rows.empty:  # empty_figure escapes its plain text
        return empty_figure(f"{grouping.name} has a single group, “{grouping.reference}”: there is nothing "
                            "to compare.", title=heading(str(grouping.reference)))
    ref = escape(grouping.reference)
    title = heading(ref)
    groups = grouping.groups
    labels = rows["group"].tolist()
    ticks = [tick_label(g, groups.loc[g, "flags"], is_reference=False) for g in labels]
    x, low, high = (rows[c].tolist() for c in (kind, f"{kind}_low", f"{kind}_high"))
    q = rows["q_value"].tolist()
    level = f"{confidence:.0%} CI"
    fmt: Callable[[float], str] = format_ratio if kind == "ratio" else _pp
    ci = [format_ci(lo, hi, percent=False) if kind == "ratio" else _pp_ci(lo, hi)
          for lo, hi in zip(low, high, strict=True)]
    customdata = [[int(groups.loc[g, "count"]), fmt(v), c, format_pct(val), format_pct(rv), format_q(qv)]
                  for g, v, c, val, rv, qv in zip(labels, x, ci, rows["value"], rows["reference_value"], q,
                                                  strict=True)]
    error = _error_arrays(x, low, high)
    fig = go.Figure(go.Scatter(
        x=[plain(v) for v in x], y=ticks, mode="markers", name=f"group vs {ref} ({level} whiskers)",
        marker={"color": color_for(0), "size": 11,
                "symbol": ["diamond-open" if _is_small(groups.loc[g, "flags"]) else "diamond" for g in labels]},
        error_x=error, customdata=customdata,
        hovertemplate=(f"<b>%{{y}}</b><br>{LABELS[metric]}: %{{customdata[3]}} vs %{{customdata[4]}} "
                       f"for {ref}<br>{kind}: %{{customdata[1]}} ({level} %{{customdata[2]}})"
                       "<br>%{customdata[5]}, n = %{customdata[0]}<extra></extra>"),
    ))
    significant = [i for i, qv in enumerate(q) if not is_missing(qv) and float(qv) < alpha]
    if significant:
        ends = [high[i] if not is_missing(high[i]) else x[i] for i in significant]
        # A star marker (not a text trace), so the legend shows a star rather than plotly's "Aa" text glyph.
        fig.add_trace(go.Scatter(
            x=[plain(e) for e in ends], y=[ticks[i] for i in significant], mode="markers",
            marker={"symbol": "star", "size": 14, "color": "#D55E00"}, hoverinfo="skip",
            text=[SIGNIFICANCE_MARK] * len(significant), name=f"{SIGNIFICANCE_MARK} significant (q < {alpha:g})",
        ))
    if kind == "ratio":
        fig.add_vrect(x0=FOUR_FIFTHS[0], x1=FOUR_FIFTHS[1], fillcolor=with_alpha(color_for(2), 0.15),
                      line_width=0, layer="below", showlegend=True,
                      name="four-fifths band (0.8–1.25)")
        fig.add_vline(x=1, line={"color": "#333333", "dash": "dash", "width": 1.5})
        axis = f"{LABELS[metric]} ÷ {LABELS[metric].lower()} of {ref}"
    else:
        fig.add_vline(x=0, line={"color": "#333333", "dash": "dash", "width": 1.5})
        axis = f"{LABELS[metric]} − {LABELS[metric].lower()} of {ref} (percentage points)"
    base_layout(fig, title=title, xaxis_title=axis, yaxis_title=escape(grouping.name))
    if kind == "ratio":
        # Keep the whole band in view so it reads as a band, not as the background.
        ends = [float(v) for v in (*x, *low, *high) if not is_missing(v)]
        span = [min([FOUR_FIFTHS[0], *ends]), max([FOUR_FIFTHS[1], *ends])]
        pad = 0.08 * (span[1] - span[0])
        fig.update_xaxes(range=[span[0] - pad, span[1] + pad])
    if kind == "difference":
        fig.update_xaxes(tickformat="+.0%")
    fig.update_yaxes(autorange="reversed", type="category")
    parity = "1" if kind == "ratio" else "0"
    add_caption(fig, f"Dashed line at {parity}: same as {ref}, the reference group. "
                     f"Whiskers: {level} (Miettinen–Nurminen score). Open markers: small groups.<br>"
                     f"{SIGNIFICANCE_MARK} = statistically significant difference from {ref} "
                     f"(Benjamini–Hochberg q < {alpha:g}).")
    ci_fmt = (lambda lo, hi: format_ci(lo, hi, percent=False)) if kind == "ratio" else _pp_ci
    return describe(fig, *disparity_text(grouping, rows, metric, kind, alpha=alpha, level=level, fmt=fmt,
                                         ci_fmt=ci_fmt))


def _pp(value: float) -> str:
    return "n/a" if is_missing(value) else f"{float(value) * 100:+.1f} pp"


def _pp_ci(low: float, high: float) -> str:
    text = format_ci(low, high)
    return text if text == "n/a" else f"{text.removesuffix('%')} pp"


def intersection_heatmap(grouping: GroupingResult, metric: str) -> go.Figure:
    """Heatmap of a metric over a two-feature intersection.

    Parameters
    ----------
    grouping : GroupingResult
        An intersection of exactly two features; rows are the first feature's values, columns the
        second's.
    metric : str
        A metric name from ``auditapp.core.rates.METRICS``.

    Returns
    -------
    go.Figure
        Two ``go.Heatmap`` traces. The second (viridis, 0–100%: no grey anywhere on its scale, so no
        colour is mistaken for the grey of small groups) has ``z`` = the metric for groups of
        adequate size and None for small groups and combinations with no rows; the first draws
        exactly those cells grey. Cell text: value and n, "(small)" or "no rows".
        ``customdata`` per cell: ``[n, value, CI, flags]``.

    Raises
    ------
    AuditInputError
        If the grouping is not a two-feature intersection, or the metric is unknown.
    """
    (metric,) = _check_metrics(metric)
    if len(grouping.features) != 2:
        raise AuditInputError(
            f"The heatmap needs an intersection of two features, but got {grouping.name} "
            f"({len(grouping.features)} feature(s)). Pick a two-feature intersection."
        )
    raw_first, raw_second = grouping.features
    first, second = escape(raw_first), escape(raw_second)
    groups = grouping.groups
    rows = sorted(map(str, groups[raw_first].unique()))
    cols = sorted(map(str, groups[raw_second].unique()))
    by_cell = {(str(r[raw_first]), str(r[raw_second])): (label, r) for label, r in groups.iterrows()}
    z, grey, text, customdata = [], [], [], []
    for row_value in rows:
        z_row: list[float | None] = []
        grey_row: list[int | None] = []
        text_row: list[str] = []
        data_row: list[Any] = []
        for col_value in cols:
            cell = by_cell.get((row_value, col_value))
            if cell is None:
                z_row.append(None)
                grey_row.append(0)
                text_row.append("no rows")
                data_row.append([0, "n/a", "n/a", "no rows"])
                continue
            _, r = cell
            n, value = int(r["count"]), r[metric]
            small = _is_small(r["flags"])
            z_row.append(None if small else plain(value))
            grey_row.append(0 if small else None)
            text_row.append(f"{format_pct(value)}<br>n={n}" + (" (small)" if small else ""))
            data_row.append([n, format_pct(value), ci_text(value, r[f"{metric}_low"], r[f"{metric}_high"]),
                             flag_words(r["flags"]) or "none"])
        z.append(z_row)
        grey.append(grey_row)
        text.append(text_row)
        customdata.append(data_row)
    hover = (f"<b>{first} = %{{y}}, {second} = %{{x}}</b><br>{LABELS[metric]}: "
             "%{customdata[1]} (CI %{customdata[2]})<br>n = %{customdata[0]}"
             "<br>flags: %{customdata[3]}<extra></extra>")
    # Small and empty cells are drawn by a grey trace under the coloured one, so their text shows
    # on a neutral background instead of a colour that would suggest a reliable rate.
    cols, rows = [escape(c) for c in cols], [escape(r) for r in rows]
    fig = go.Figure([
        go.Heatmap(z=grey, x=cols, y=rows, text=text, texttemplate="%{text}", customdata=customdata,
                   colorscale=[[0, MISSING_GREY], [1, MISSING_GREY]], showscale=False, xgap=2, ygap=2,
                   hoverongaps=False, hovertemplate=hover, name="small or empty"),
        go.Heatmap(z=z, x=cols, y=rows, text=text, texttemplate="%{text}", customdata=customdata,
                   colorscale="Viridis", zmin=0, zmax=1, hoverongaps=False, xgap=2, ygap=2,
                   colorbar={"title": {"text": LABELS[metric]}, "tickformat": ".0%"},
                   hovertemplate=hover, name=LABELS[metric]),
    ])
    base_layout(fig, title=f"{LABELS[metric]} by {first} and {second}", xaxis_title=second,
                yaxis_title=first)
    fig.update_xaxes(type="category", showgrid=False)
    fig.update_yaxes(type="category", showgrid=False, autorange="reversed")
    add_caption(fig, "Grey cells: small groups (rates uncertain) or combinations with no rows.")
    return describe(fig, *heatmap_text(grouping, metric))


def group_table_rows(grouping: GroupingResult, metrics: Sequence[str] | str) -> list[dict[str, Any]]:
    """Rows for an AG Grid: one per group, each metric formatted with its CI and also raw.

    Parameters
    ----------
    grouping : GroupingResult
        One grouping of an ``AuditResult``.
    metrics : str or sequence of str
        Metric names from ``auditapp.core.rates.METRICS``.

    Returns
    -------
    list of dict
        Keys: ``group``, ``n``, ``reference`` (bool), ``flags`` (words), and per metric ``m``:
        ``m`` (e.g. ``"43.1% (39.0–47.2%)"``) and ``m_value``, ``m_low``, ``m_high`` (floats or None,
        for sorting and export).

    Raises
    ------
    AuditInputError
        If a metric is unknown.
    """
    metrics = _check_metrics(metrics)
    out = []
    for label, row in grouping.groups.iterrows():
        item = {"group": str(label), "n": int(row["count"]), "reference": bool(row["is_reference"]),
                "flags": flag_words(row["flags"])}
        for metric in metrics:
            value, low, high = row[metric], row[f"{metric}_low"], row[f"{metric}_high"]
            ci = format_ci(low, high)
            item[metric] = format_pct(value) if ci == "n/a" else f"{format_pct(value)} ({ci})"
            item[f"{metric}_value"], item[f"{metric}_low"], item[f"{metric}_high"] = (
                plain(value), plain(low), plain(high))
        out.append(item)
    return out


def group_table_columns(metrics: Sequence[str] | str) -> list[dict[str, Any]]:
    """AG Grid ``columnDefs`` for ``group_table_rows``: formatted text shown, raw value sorted."""
    metrics = _check_metrics(metrics)
    columns: list[dict[str, Any]] = [{"field": "group", "headerName": "Group", "pinned": "left"},
               {"field": "n", "headerName": "n", "type": "numericColumn"}]
    for metric in metrics:
        columns.append({
            "field": f"{metric}_value", "headerName": LABELS[metric],
            "valueFormatter": {"function": f"params.data['{metric}']"},
            "type": "numericColumn",
        })
    columns.append({"field": "flags", "headerName": "Flags"})
    return columns
