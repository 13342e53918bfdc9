"""Figures for the feedback-loop simulations: ``SimulationResult`` → ``go.Figure``.

Pure builders (no computation beyond picking columns), shared by the app and the report. Colours
come from the Okabe–Ito palette, which stays distinguishable under the common colour-vision
deficiencies; marker shapes repeat the distinction between groups, and line styles the one between
worlds (solid vs dashed), so grey-scale prints and colour-blind readers can tell them apart.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from auditapp.feedback.runner import SimulationResult
from auditapp.figures import dash_for, escape, symbol_for
from auditapp.figures.describe import describe, every_nth, listing

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
POLICY_SYMBOLS = {"max_profit": "circle", "demographic_parity": "square", "equal_opportunity": "diamond"}
POLICY_LABELS = {"max_profit": "maximum profit", "demographic_parity": "demographic parity",
                 "equal_opportunity": "equal opportunity"}
MAX_POINTS = 2_000
TABLE_STEPS = 25  # rows per series in a figure's table of numbers


def colour(index: int) -> str:
    """The ``index``-th colour of the palette (cycling)."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def _fill(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _expect(result: SimulationResult, scenario: str) -> None:
    if result.scenario != scenario:
        raise ValueError(f"This figure needs a {scenario} result, got {result.scenario}.")


def _marked(index: int) -> dict[str, Any]:
    """A group's marker: its own shape, drawn on a few points of a long line."""
    return {"symbol": symbol_for(index), "size": 8, "maxdisplayed": 15}


def _over_time(table: pd.DataFrame, *, step_name: str, percent: bool) -> tuple[list[str], list[list[Any]], str]:
    """Columns and rows of a wide table (one column per series), at most ``TABLE_STEPS`` steps, and a note."""
    steps, stride = every_nth(list(table.index), TABLE_STEPS)
    rows = [[int(step), *(f"{v:.1%}" if percent else f"{v:.1f}" for v in table.loc[step])] for step in steps]
    note = f"Every {stride}th {step_name} and the last." if stride > 1 else ""
    return [step_name.capitalize(), *map(str, table.columns)], rows, note


def policing_share_figure(result: SimulationResult, *, max_points: int = MAX_POINTS) -> go.Figure:
    """Patrol share per region over time (mean over runs, 10th–90th percentile band) vs true share.

    At most about ``max_points`` days are drawn (every n-th day, the last one kept).
    """
    _expect(result, "policing")
    mean, low, high = (result.series_wide(n) for n in ("mean_share", "low_share", "high_share"))
    stride = max(1, len(mean) // max_points)
    mean, low, high = mean.iloc[::stride], low.iloc[::stride], high.iloc[::stride]
    fig = go.Figure()
    regions = result.summary["regions"]
    for i, (region, true) in enumerate(zip(regions, result.summary["true_share"], strict=True)):
        line, name = colour(i), escape(region)
        days = mean.index.to_numpy()
        # With two regions the second share is one minus the first, so its band would mirror the first and
        # together they would shade the whole plot: only the first region gets a band.
        if i == 0 or len(regions) > 2:
            mirror = f" (region {escape(regions[1])} mirrors it)" if len(regions) == 2 else ""
            fig.add_trace(go.Scatter(
                x=list(days) + list(days[::-1]), y=list(high[region]) + list(low[region][::-1]),
                fill="toself", fillcolor=_fill(line, 0.18 if len(regions) == 2 else 0.1), line={"width": 0},
                hoverinfo="skip", name=f"region {name}: 10th–90th percentile of runs{mirror}", legendgroup=name,
            ))
        fig.add_trace(go.Scatter(
            x=days, y=mean[region], mode="lines+markers", line={"color": line, "width": 2}, marker=_marked(i),
            name=f"region {name}: patrol share (mean of runs)", legendgroup=name,
            hovertemplate=f"day %{{x}}: region {name} gets %{{y:.1%}} of patrols<extra></extra>",
        ))
        fig.add_hline(y=true, line={"color": line, "dash": "dash", "width": 1.5},
                      annotation_text=f"true share of {name}: {true:.1%}",
                      annotation_position="top left")
    fixed = "with the correction" if result.params.get("corrected") else "without correction"
    fig.update_layout(
        title=f"Where patrols go over time ({fixed}); dashed: each region's true share of incidents",
        xaxis_title="day (urn draw)", yaxis_title="share of patrols sent to the region",
        yaxis={"tickformat": ".0%", "range": [0, 1]}, legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    summary = result.summary
    parts = [f"region {r}: {final:.1%} of patrols (true share of incidents {true:.1%})" for r, final, true in
             zip(summary["regions"], summary["final_mean_share"], summary["true_share"], strict=True)]
    full = result.series_wide("mean_share")
    columns, rows, note = _over_time(full, step_name="day", percent=True)
    return describe(fig, f"Line chart of the share of patrols sent to each region over "
                         f"{int(full.index.max())} days, {fixed}, mean of {result.params.get('runs', 1)} runs "
                         f"with a 10th–90th percentile band. At the end: {listing(parts)}.",
                    columns, rows, note=note)


def lending_outcome_figure(result: SimulationResult) -> go.Figure:
    """Outcome curves (mean score change vs selection rate) per group, with each policy's point."""
    _expect(result, "lending")
    curve, policies = result.tables["outcome_curve"], result.tables["policies"]
    chosen = result.summary["policy"]
    fig = go.Figure()
    for i, (group, part) in enumerate(curve.groupby("group", sort=False)):
        name = escape(group)
        fig.add_trace(go.Scatter(
            x=part["selection_rate"], y=part["mean_score_change"], mode="lines",
            line={"color": colour(i), "width": 2, "dash": dash_for(i)}, name=f"group {name}: outcome curve",
            legendgroup=escape(group),
            hovertemplate=(f"group {name}: lending to %{{x:.1%}} changes the mean score by "
                           "%{y:.1f} points<extra></extra>"),
        ))
        for policy, symbol in POLICY_SYMBOLS.items():
            row = policies[(policies["policy"] == policy) & (policies["group"] == group)]
            fig.add_trace(go.Scatter(
                x=row["selection_rate"], y=row["mean_score_change"], mode="markers",
                marker={"symbol": symbol if i % 2 == 0 else f"{symbol}-open", "color": colour(i),
                        "size": 14 if policy == chosen else 9,
                        "line": {"color": "black", "width": 2 if policy == chosen else 0}},
                name=f"group {name}: {POLICY_LABELS[policy]}", legendgroup=escape(group),
                customdata=row[["threshold"]],
                hovertemplate=(f"group {name}, {POLICY_LABELS[policy]}: %{{x:.1%}} selected "
                               "(threshold %{customdata[0]:.0f}), mean score change %{y:.1f}"
                               "<extra></extra>"),
            ))
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_layout(
        title=(f"Outcome curves: what lending does to each group's mean score "
               f"(marked: the three policies; large: {POLICY_LABELS[chosen]})"),
        xaxis_title="selection rate (share of the group given a loan, best scores first)",
        yaxis_title="mean score change (points)", yaxis={"automargin": True, "title": {"standoff": 8}},
        xaxis={"tickformat": ".0%", "range": [0, 1]}, template="plotly_white", margin={"l": 80},
    )
    rows = [[str(r["group"]), POLICY_LABELS[r["policy"]], f"{r['selection_rate']:.1%}", f"{r['threshold']:.0f}",
             f"{r['mean_score_change']:+.1f}"] for _, r in policies.iterrows() if r["policy"] in POLICY_LABELS]
    chosen_rows = [f"group {r[0]} {r[2]} selected, mean score {r[4]} points" for r in rows
                   if r[1] == POLICY_LABELS[chosen]]
    summary = (f"Outcome curves: the expected change of each group's mean credit score against the share of the "
               f"group given a loan, with each lending policy's point marked. Under {POLICY_LABELS[chosen]}: "
               f"{listing(chosen_rows)}.")
    return describe(fig, summary, ["Group", "Policy", "Selection rate", "Threshold", "Mean score change"], rows)


def lending_trajectory_figure(result: SimulationResult) -> go.Figure:
    """Mean score per group over rounds of lending under the chosen policy."""
    _expect(result, "lending")
    means = result.series_wide("mean_score")
    fig = go.Figure()
    for i, group in enumerate(means.columns):
        fig.add_trace(go.Scatter(
            x=means.index, y=means[group], mode="lines+markers", line={"color": colour(i)}, marker=_marked(i),
            name=f"group {escape(group)}",
            hovertemplate=f"round %{{x}}: group {escape(group)} mean score %{{y:.0f}}<extra></extra>",
        ))
    fig.update_layout(
        title=f"Mean credit score per group, round after round of {POLICY_LABELS[result.summary['policy']]} lending",
        xaxis_title="round of lending (0 = before any loan)", yaxis_title="mean score",
        template="plotly_white",
    )
    parts = [f"group {g} from {means[g].iloc[0]:.0f} to {means[g].iloc[-1]:.0f}" for g in means.columns]
    columns, rows, note = _over_time(means, step_name="round", percent=False)
    return describe(fig, f"Line chart of each group's mean credit score over {len(means) - 1} rounds of "
                         f"{POLICY_LABELS[result.summary['policy']]} lending: {listing(parts)}.",
                    columns, rows, note=note)


def model_loop_rates_figure(result: SimulationResult, *, metric: str = "selection_rate") -> go.Figure:
    """Per-group selection rate (or TPR) over rounds: loop (solid) vs all labels seen (dashed)."""
    _expect(result, "model-loop")
    if metric not in ("selection_rate", "true_positive_rate"):
        raise ValueError(f"metric must be selection_rate or true_positive_rate, got {metric!r}.")
    label = "selection rate" if metric == "selection_rate" else "true positive rate"
    fig = go.Figure()
    tables = {}
    for world, dash, note in (("loop", "solid", "learns only from selected"),
                              ("counterfactual", "dash", "sees every label")):
        table = tables[world] = result.series_wide(f"{world}_{metric}")
        for i, group in enumerate(table.columns):
            fig.add_trace(go.Scatter(
                x=table.index, y=table[group], mode="lines+markers", marker=_marked(i),
                line={"color": colour(i), "dash": dash}, name=f"{escape(group)}: {note}",
                legendgroup=escape(group),
                hovertemplate=f"round %{{x}}: {escape(group)}, {label} %{{y:.1%}} ({note})<extra></extra>",
            ))
    fig.update_layout(
        title=f"{label.capitalize()} per group, round by round: model in the loop (solid) vs full information (dashed)",
        xaxis_title="round", yaxis_title=label, yaxis={"tickformat": ".0%", "range": [0, 1.02]},
        template="plotly_white", legend={"orientation": "h", "y": -0.2},
    )
    loop, full = tables["loop"], tables["counterfactual"]
    parts = [f"{g} {loop[g].iloc[-1]:.1%} in the loop, {full[g].iloc[-1]:.1%} with full information"
             for g in loop.columns]
    wide = loop.add_suffix(" (loop)").join(full.add_suffix(" (full information)"))
    columns, rows, note = _over_time(wide, step_name="round", percent=True)
    return describe(fig, f"Line chart of the {label} per group over {len(loop)} rounds: the model in the loop "
                         f"(solid) against the full-information counterfactual (dashed). Last round: "
                         f"{listing(parts)}.", columns, rows, note=note)


def model_loop_gap_figure(result: SimulationResult) -> go.Figure:
    """Largest gap between groups per round, loop vs counterfactual, for selection rate and TPR."""
    _expect(result, "model-loop")
    fig = go.Figure()
    series = {}
    for i, (short, label) in enumerate((("selection", "selection rate"), ("tpr", "true positive rate"))):
        for world, dash, note in (("loop", "solid", "loop"), ("counterfactual", "dash", "all labels seen")):
            gap = series[f"{label} gap: {note}"] = result.series_wide(f"{world}_{short}_gap")["(all)"]
            fig.add_trace(go.Scatter(
                x=gap.index, y=gap, mode="lines+markers", line={"color": colour(i), "dash": dash},
                marker=_marked(i),
                name=f"{label} gap: {note}",
                hovertemplate=f"round %{{x}}: largest {label} gap %{{y:.1%}} ({note})<extra></extra>",
            ))
    fig.update_layout(
        title="Largest gap between groups per round: model in the loop (solid) vs full information (dashed)",
        xaxis_title="round", yaxis_title="largest minus smallest group rate",
        yaxis={"tickformat": ".0%", "rangemode": "tozero"}, template="plotly_white",
    )
    import pandas as pd

    wide = pd.DataFrame(series)
    last = [f"{name} {value:.1%}" for name, value in wide.iloc[-1].items()]
    columns, rows, note = _over_time(wide, step_name="round", percent=True)
    return describe(fig, f"Line chart of the largest gap between groups per round over {len(wide)} rounds, "
                         f"for selection rate and true positive rate, in the loop and with all labels seen. "
                         f"Last round: {listing(last)}.", columns, rows, note=note)


def feedback_figure(result: SimulationResult, *, max_points: int = MAX_POINTS) -> go.Figure:
    """The main figure of any feedback-loop result (long runs thinned to about ``max_points`` steps)."""
    builders = {"policing": lambda r: policing_share_figure(r, max_points=max_points),
                "lending": lending_outcome_figure, "model-loop": model_loop_rates_figure}
    if result.scenario not in builders:
        raise ValueError(f"No figure for scenario {result.scenario!r}.")
    return builders[result.scenario](result)
