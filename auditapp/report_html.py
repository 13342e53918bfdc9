"""HTML building blocks of the report: escaping, tables that scroll in their own box, accessible charts.

WCAG 2.1 AA (issue 20): a table wider than the screen scrolls inside a named, focusable region (the
page never scrolls sideways at 320 px); every chart is a ``<figure>`` whose picture is named by the
figure's summary (``auditapp/figures/charts.js``, inlined once in the report) and whose numbers are a
real table in a ``<details>`` right under it, written here, so they read without any script.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

import plotly.graph_objects as go

from auditapp.figures.describe import figure_text

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
               "modeBarButtons": [["toImage"]]}
CSS = """
.table-scroll{overflow-x:auto;max-width:100%;margin:.6rem 0}.table-scroll>table{margin:0}
.table-scroll:focus-visible,summary:focus-visible,a:focus-visible{outline:3px solid #0b5cad;outline-offset:2px}
figure.chart{margin:0 0 1rem}figure.chart details{margin:.2rem 0 .8rem}
figure.chart summary{cursor:pointer;color:#0b4f8a}figure.chart caption{caption-side:top;text-align:left;color:#444}
@media (max-width:600px){body{padding:.6rem}nav a{display:inline-block;margin:.2rem .8rem .2rem 0}}
@media print{figure.chart details{display:none}.table-scroll{overflow:visible}}
"""


def escape(value) -> str:
    """Text for HTML: every user-provided string goes through here."""
    return html.escape(str(value), quote=True)


def safe_json(payload: str) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` left."""
    return payload.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), *,
               label: str) -> str:
    """A table in a box that scrolls sideways on its own, named ``label`` for screen readers.

    Header and cells are given already escaped (or as trusted markup); ``label`` is plain text.
    """
    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return (f'<div class="table-scroll" role="region" tabindex="0" aria-label="{escape(label)}">'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A chart as a ``<figure>``: the plot drawn by the embedded plotly.js, then its numbers as a table."""
    import plotly.io as pio

    data = safe_json(pio.to_json(fig, validate=False))
    config = json.dumps(PLOT_CONFIG)
    text = figure_text(fig)
    numbers = ""
    if text is not None and text.columns and text.rows:
        caption = f"<caption>{escape(text.note)}</caption>" if text.note else ""
        rows = [[escape(c) for c in row] for row in text.rows]
        numbers = ("<details><summary>Table of the chart's numbers</summary>"
                   + table_html([escape(c) for c in text.columns], rows,
                                label=f"Numbers of the chart: {text.summary.split('. ')[0]}")
                   .replace("<table>", f"<table>{caption}", 1) + "</details>")
    return (f'<figure class="chart"><div class="figure" id="{escape(div_id)}"></div>'
            f'<script>(function(){{var f={data};Plotly.newPlot("{escape(div_id)}",f.data,f.layout,'
            f'{config});}})();</script>{numbers}</figure>')
