"""Text alternatives for figures: a summary sentence and a table of the numbers, carried by the figure.

Every builder in ``auditapp.figures`` ends with :func:`describe`, so a chart is never only a picture
(WCAG 2.1 1.1.1; issue 20). The text travels in ``layout.meta["a11y"]``, which Plotly never draws:

* in the app, ``auditapp/figures/charts.js`` makes the summary the chart's ``aria-label`` and renders
  the table (as text nodes) under a "Table of the chart's numbers" disclosure;
* in the HTML report, ``auditapp.reporting.report`` writes both into the page, HTML-escaped.

The strings are plain text, not Plotly markup: user-chosen names are stored as they are and escaped
where they are shown. Builders only reshape the engine's numbers into words and cells here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import plotly.graph_objects as go

MAX_ROWS = 400
META_KEY = "a11y"


@dataclass(frozen=True)
class FigureText:
    """What a figure says in words: ``summary`` (its text alternative) and its numbers as a table.

    ``note`` says what the table leaves out, if anything (e.g. "every 5th threshold").
    """

    summary: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    note: str = ""


def cell(value: object) -> str:
    """A table cell as text: None and NaN become "n/a", floats get four significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float) or hasattr(value, "dtype"):
        try:
            number = float(value)  # type: ignore[arg-type]  # a NumPy scalar or an odd object: tried, not assumed
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(number):
            return "n/a"
        return f"{number:.4g}"
    return str(value)


def describe(fig: go.Figure, summary: str, columns: Sequence[str] = (),
             rows: Iterable[Sequence[Any]] = (), *, note: str = "") -> go.Figure:
    """Attach ``summary`` and the table ``columns`` × ``rows`` to ``fig`` (changed in place and returned).

    Parameters
    ----------
    fig : go.Figure
        A finished figure.
    summary : str
        One or a few plain sentences: what the chart shows and its main numbers.
    columns : sequence of str
        Column headers of the table of the chart's numbers.
    rows : iterable of sequences
        One sequence per row, as long as ``columns``; values are turned into text with :func:`cell`.
    note : str
        What the table leaves out. When there are more than ``MAX_ROWS`` rows, the table keeps the
        first ``MAX_ROWS`` and the note says so.

    Returns
    -------
    go.Figure
        The same figure.
    """
    table = [[cell(v) for v in row] for row in rows]
    if any(len(row) != len(columns) for row in table):
        raise ValueError(f"Every row of a figure's table needs {len(columns)} cells, one per column.")
    if len(table) > MAX_ROWS:
        cut = f"The table shows the first {MAX_ROWS:,} of {len(table):,} rows."
        note = f"{note} {cut}".strip()
        table = table[:MAX_ROWS]
    fig.update_layout(meta={META_KEY: {"summary": " ".join(summary.split()), "columns": list(columns),
                                       "rows": table, "note": note}})
    return fig


def figure_text(fig: go.Figure) -> FigureText | None:
    """The text :func:`describe` attached to ``fig``, or None for a figure without one."""
    meta = fig.layout.meta
    text = meta.get(META_KEY) if isinstance(meta, dict) else None
    if not isinstance(text, dict) or not text.get("summary"):
        return None
    return FigureText(summary=str(text["summary"]), columns=tuple(map(str, text.get("columns", ()))),
                      rows=tuple(tuple(map(str, r)) for r in text.get("rows", ())),
                      note=str(text.get("note", "")))


@cache
def chart_script() -> str:
    """The browser script (``charts.js``) that turns the text into an aria-label and a table, and wraps."""
    return resources.files("auditapp.figures").joinpath("charts.js").read_text(encoding="utf-8")


def every_nth(values: Sequence[Any], limit: int) -> tuple[list[Any], int]:
    """At most ``limit`` evenly spaced items of ``values`` (the last one kept), and the step used."""
    values = list(values)
    step = max(1, math.ceil(len(values) / max(1, limit)))
    picked = values[::step]
    if values and picked[-1] is not values[-1] and picked[-1] != values[-1]:
        picked.append(values[-1])
    return picked, step


def listing(items: Sequence[str], *, limit: int = 8) -> str:
    """``a, b and c``; past ``limit`` items: ``a, b, … and 5 more``."""
    items = [str(i) for i in items]
    if len(items) > limit:
        return f"{', '.join(items[:limit])} and {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
