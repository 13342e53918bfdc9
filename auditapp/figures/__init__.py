"""Plotly figure builders shared by the Dash app and the HTML report, and their common look.

Every builder in this package takes a result object and returns a ``go.Figure``; none computes a
number, they only reshape what the engine returned. Each figure carries its text alternative (a
summary and a table of its numbers, ``auditapp.figures.describe``) and tells groups apart by more
than colour (line dashes, marker symbols, bar patterns). This module holds what the builders share:
the Okabe–Ito palette (distinguishable under the common colour-vision deficiencies), the base layout,
an empty placeholder figure, and number formatting for hover text and tables.
"""

from __future__ import annotations

import math
import re
from typing import Any

import plotly.graph_objects as go

from auditapp.figures.describe import describe

OKABE_ITO: tuple[str, ...] = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
)
FONT_FAMILY = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
MISSING_GREY = "#d9d9d9"


_TAGS = str.maketrans({"<": "&lt;", ">": "&gt;"})
_ENTITY = re.compile(r"&(?=#?\w+;)")  # an & that starts what Plotly would read as an entity


def escape(value: object) -> str:
    """``value`` as text that a Plotly figure shows literally, wherever it is placed.

    Plotly reads titles, tick labels, legend names, hover text, annotations and text on traces as a
    small HTML dialect (``<b>``, ``<a href>``, ``<br>``, entities such as ``&amp;``), and fills
    ``%{...}`` in hover and text templates. Group names, column names, file names and policy names come
    from users, so every builder passes them through this helper exactly once, where they enter the
    figure: ``<b>`` then shows as ``<b>``, not as bold, and a name cannot become a link.

    Parameters
    ----------
    value : object
        Any value; it is converted with ``str``.

    Returns
    -------
    str
        The text with ``<`` and ``>`` as entities, ``&`` too where it starts an entity (``&amp;`` stays
        ``&amp;`` on screen; ``F & a`` is left as it is), and ``%{`` as ``&#37;{``.
    """
    return _ENTITY.sub("&amp;", str(value)).translate(_TAGS).replace("%{", "&#37;{")


def color_for(index: int) -> str:
    """The ``index``-th colour of the Okabe–Ito palette, cycling after eight.

    Parameters
    ----------
    index : int
        Position of the series (group or metric) in its figure.

    Returns
    -------
    str
        A hex colour such as ``"#0072B2"``.
    """
    return OKABE_ITO[int(index) % len(OKABE_ITO)]


# Groups are told apart by more than colour (WCAG 1.4.1): line dash, marker shape or bar pattern too.
LINE_DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
MARKER_SYMBOLS: tuple[str, ...] = (
    "circle", "square", "diamond", "triangle-up", "x", "cross", "triangle-down", "star",
)
BAR_PATTERNS: tuple[str, ...] = ("", "/", ".", "x", "\\", "+", "-", "|")


def dash_for(index: int) -> str:
    """The ``index``-th line dash (cycling), so that lines differ in more than colour."""
    return LINE_DASHES[int(index) % len(LINE_DASHES)]


def symbol_for(index: int) -> str:
    """The ``index``-th marker symbol (cycling), so that points differ in more than colour."""
    return MARKER_SYMBOLS[int(index) % len(MARKER_SYMBOLS)]


def pattern_for(index: int) -> str:
    """The ``index``-th bar fill pattern (cycling; the first is solid)."""
    return BAR_PATTERNS[int(index) % len(BAR_PATTERNS)]


def with_alpha(hex_colour: str, alpha: float) -> str:
    """``"#RRGGBB"`` as an ``rgba(...)`` string with opacity ``alpha``."""
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def is_missing(value: object) -> bool:
    """True for None and NaN (numbers the engine could not define)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]  # anything: a failed conversion is not missing
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """A float for JSON and AG Grid: numpy scalars become Python floats, NaN becomes None."""
    return None if is_missing(value) else float(value)


TEMPLATE_NAME = "auditapp"
_AXIS = {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "automargin": True,
         "ticks": "", "title": {"standoff": 15}}


def template_name() -> str:
    """The name of auditapp's plotly template, registered on first use.

    A small template of our own: applying the large built-in ``plotly_white`` copies every trace
    type's defaults and cost ~10 ms per figure, which a slider or a busy server feels.
    """
    import plotly.io as pio

    if TEMPLATE_NAME not in pio.templates:
        pio.templates[TEMPLATE_NAME] = go.layout.Template(layout={
            "paper_bgcolor": "white", "plot_bgcolor": "white", "colorway": list(OKABE_ITO),
            "xaxis": _AXIS, "yaxis": _AXIS, "hovermode": "closest",
        })
    return TEMPLATE_NAME


def base_layout(
    fig: go.Figure, *, title: str, xaxis_title: str | None = None, yaxis_title: str | None = None,
    percent_y: bool = False,
) -> go.Figure:
    """Apply the shared look: white template, readable font, legend on top, margins.

    Parameters
    ----------
    fig : go.Figure
        The figure to style (changed in place and returned).
    title : str
        What the figure measures, in words.
    xaxis_title, yaxis_title : str, optional
        Axis titles; left unchanged when None.
    percent_y : bool
        Format the y axis as percentages (for rates in [0, 1]).

    Returns
    -------
    go.Figure
        The same figure, for chaining.
    """
    fig.update_layout(
        template=template_name(),
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 17}},
        font={"family": FONT_FAMILY, "size": 13, "color": "#222222"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0.0},
        margin={"l": 60, "r": 30, "t": 90, "b": 60},
        hoverlabel={"font": {"family": FONT_FAMILY}},
    )
    if xaxis_title is not None:
        fig.update_xaxes(title_text=xaxis_title)
    if yaxis_title is not None:
        fig.update_yaxes(title_text=yaxis_title)
    if percent_y:
        fig.update_yaxes(tickformat=".0%")
    return fig


def add_caption(fig: go.Figure, text: str) -> go.Figure:
    """A small explanatory line under the plot (what the whiskers, marks and shading mean).

    Parameters
    ----------
    fig : go.Figure
        The figure (changed in place and returned), after ``base_layout``; the caption becomes the
        title's subtitle and the top margin grows to make room.
    text : str
        The caption; break long captions into lines with ``<br>``.

    Returns
    -------
    go.Figure
        The same figure.
    """
    # A subtitle under the title rather than an annotation under the plot: rotated tick labels and
    # axis titles take a height that is only known in the browser, and would overlap it.
    fig.update_layout(
        title={"subtitle": {"text": text, "font": {"size": 12, "color": "#555555"}},
               "yref": "container", "y": 0.98, "yanchor": "top"},
        margin={"t": max(130 + 16 * text.count("<br>"), fig.layout.margin.t or 0)},
    )
    return fig


def empty_figure(message: str, *, title: str = "") -> go.Figure:
    """A blank figure that says why there is nothing to show.

    Parameters
    ----------
    message : str
        What is missing and what to do, e.g. "No scores: add a score column or a model." Plain text:
        it is escaped here (see :func:`escape`), so pass user text unescaped.
    title : str
        Optional title, so the page keeps its heading (plain text, escaped here).

    Returns
    -------
    go.Figure
        No traces, hidden axes, one centred annotation.
    """
    fig = go.Figure()
    base_layout(fig, title=escape(title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text=escape(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font={"size": 15, "color": "#555555"},
    )
    return describe(fig, f"{title}: {message}" if title else message)
