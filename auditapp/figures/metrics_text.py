"""The words and tables behind the Group metrics figures (their text alternatives; see ``describe``).

Plain text: group and column names as the user wrote them (``describe`` explains where they are
escaped). Each function returns ``(summary, columns, rows)`` for :func:`auditapp.figures.describe.describe`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from auditapp.core.metrics import GroupingResult
from auditapp.core.narrative import FOUR_FIFTHS, format_ci, format_pct, format_q
from auditapp.core.rates import LABELS
from auditapp.figures import is_missing
from auditapp.figures.describe import listing

FLAG_WORDS = {
    "small_group": "small group",
    "no_positives": "no favourable labels",
    "no_negatives": "no unfavourable labels",
    "no_predicted_positives": "never selected",
    "no_predicted_negatives": "always selected",
}
Text = tuple[str, list[str], list[list[Any]]]


def flag_words(flags: Any) -> str:
    """Flags as words for people: ``("small_group",)`` → ``"small group"``."""
    return ", ".join(FLAG_WORDS.get(f, str(f).replace("_", " ")) for f in flags)


def ci_text(value: float, low: float, high: float) -> str:
    """The interval as text; "too few to estimate" for a defined rate without an interval."""
    if not is_missing(value) and (is_missing(low) or is_missing(high)):
        return "too few to estimate"
    return format_ci(low, high)


def _label(label: object, row: Any) -> str:
    marks = (["reference"] if bool(row["is_reference"]) else []) + (
        ["small"] if "small_group" in tuple(row["flags"]) else [])
    return f"{label} ({', '.join(marks)})" if marks else str(label)


def _extremes(groups: pd.DataFrame, metric: str) -> str:
    defined = [(float(v), str(g)) for g, v in groups[metric].items() if not is_missing(v)]
    if not defined:
        return f"{LABELS[metric]}: not defined for any group."
    high, low = max(defined), min(defined)
    if len(defined) == 1 or high[0] == low[0]:
        return f"{LABELS[metric]}: {format_pct(high[0])} for {listing([g for _, g in defined])}."
    return (f"{LABELS[metric]}: highest {high[1]} {format_pct(high[0])}, "
            f"lowest {low[1]} {format_pct(low[0])}.")


def group_metric_text(grouping: GroupingResult, metrics: Sequence[str], level: str) -> Text:
    """Bars of each metric per group: the highest and lowest group per metric, and every number."""
    groups = grouping.groups
    small = [str(g) for g, f in groups["flags"].items() if "small_group" in tuple(f)]
    names = ", ".join(LABELS[m].lower() for m in metrics)
    summary = " ".join([
        f"Bar chart of {names} for {len(groups)} groups of {grouping.name}, with {level} whiskers.",
        *(_extremes(groups, m) for m in metrics),
        f"Small groups, hatched: {listing(small)}." if small else "",
    ])
    columns = ["Group", "n", *(f"{LABELS[m]} ({level})" for m in metrics), "Flags"]
    rows = [[_label(g, row), int(row["count"]),
             *(f"{format_pct(row[m])} ({ci_text(row[m], row[f'{m}_low'], row[f'{m}_high'])})" for m in metrics),
             flag_words(row["flags"]) or "none"] for g, row in groups.iterrows()]
    return summary, columns, rows


def disparity_text(grouping: GroupingResult, rows: Any, metric: str, kind: str, *, alpha: float,
                   level: str, fmt: Callable[[float], str], ci_fmt: Callable[[float, float], str]) -> Text:
    """Each group against the reference: its ratio or difference, interval and significance."""
    ref = str(grouping.reference)
    compared = "as a ratio to" if kind == "ratio" else "minus"
    parts = []
    table = []
    for _, r in rows.iterrows():
        value, low, high, q = r[kind], r[f"{kind}_low"], r[f"{kind}_high"], r["q_value"]
        ci = ci_fmt(low, high)
        significant = not is_missing(q) and float(q) < alpha
        parts.append(f"{r['group']} {fmt(value)}" + (" (significant)" if significant else ""))
        table.append([str(r["group"]), int(grouping.groups.loc[r["group"], "count"]), format_pct(r["value"]),
                      format_pct(r["reference_value"]), fmt(value), ci, format_q(q), significant])
    band = (f" Ratios between {FOUR_FIFTHS[0]} and {FOUR_FIFTHS[1]} pass the four-fifths rule."
            if kind == "ratio" else "")
    summary = (f"{LABELS[metric]} of each group of {grouping.name} {compared} that of {ref}, the reference "
               f"group, with {level} whiskers: {listing(parts, limit=12)}.{band}")
    columns = ["Group", "n", LABELS[metric], f"{LABELS[metric]} of {ref}", kind.capitalize(), level,
               "q-value", f"Significant (q < {alpha:g})"]
    return summary, columns, table


def heatmap_text(grouping: GroupingResult, metric: str) -> Text:
    """Cells of a two-feature intersection: highest and lowest reliable cell, small and empty cells."""
    first, second = grouping.features
    groups = grouping.groups
    reliable = [(float(r[metric]), f"{r[first]} and {r[second]}") for _, r in groups.iterrows()
                if "small_group" not in tuple(r["flags"]) and not is_missing(r[metric])]
    small = [f"{r[first]} and {r[second]}" for _, r in groups.iterrows() if "small_group" in tuple(r["flags"])]
    n_cells = groups[first].nunique() * groups[second].nunique()
    parts = [f"Heatmap of {LABELS[metric].lower()} by {first} (rows) and {second} (columns): {n_cells} cells."]
    if reliable:
        high, low = max(reliable), min(reliable)
        parts.append(f"Highest {high[1]} {format_pct(high[0])}, lowest {low[1]} {format_pct(low[0])}.")
    if small:
        parts.append(f"Too few rows to trust, shown grey: {listing(small)}.")
    if len(groups) < n_cells:
        missing = n_cells - len(groups)
        parts.append(f"{missing} combination{'s have' if missing > 1 else ' has'} no rows.")
    columns = [str(first), str(second), "n", LABELS[metric], "Interval", "Flags"]
    rows = [[str(r[first]), str(r[second]), int(r["count"]), format_pct(r[metric]),
             ci_text(r[metric], r[f"{metric}_low"], r[f"{metric}_high"]), flag_words(r["flags"]) or "none"]
            for _, r in groups.iterrows()]
    return " ".join(parts), columns, rows
