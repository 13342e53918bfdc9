"""HTML pieces shared by the report's sections: escaping, tables, and figures drawn when they are needed.

A figure is written as a ``<div>`` and a one-line script that hands its JSON to ``auditappFigure``; the
page draws a figure when it comes near the screen (and every figure before printing), so opening a long
report costs the parse of plotly.js and the few charts on the first screen, not every chart at once.
Layout templates are written once (``TEMPLATES``) and shared by reference, which keeps each figure lean.

WCAG 2.1 AA (issue 20): a table wider than the screen scrolls inside a named, focusable region (the
page never scrolls sideways at 320 px); every chart is a ``<figure>`` whose picture is named by the
figure's summary (``auditapp/figures/charts.js``, inlined once in the report) and whose numbers are a
real table in a ``<details>`` right under it, written here, so they read without any script.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from auditapp.figures.describe import figure_text

# A lean toolbar: one button (download as PNG), not ten more Tab stops per chart.
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
               "modeBarButtons": [["toImage"]]}
CSS = """
body{overflow-wrap:break-word}
.table-scroll{overflow-x:auto;max-width:100%;margin:.6rem 0}.table-scroll>table{margin:0}
.table-scroll:focus-visible,summary:focus-visible,a:focus-visible{outline:3px solid #0b5cad;outline-offset:2px}
figure.chart{margin:0 0 1rem;max-width:100%}figure.chart .js-plotly-plot,figure.chart .plot-container{max-width:100%;overflow:hidden}figure.chart details{margin:.2rem 0 .8rem}
figure.chart summary{cursor:pointer;color:#0b4f8a}figure.chart caption{caption-side:top;text-align:left;color:#444}
@media (max-width:600px){body{padding:.6rem}nav a{display:inline-block;margin:.2rem .8rem .2rem 0}}
@media print{figure.chart details{display:none}.table-scroll{overflow:visible}}
"""
# Draw figures near the screen; draw all before printing. ``auditappTemplates`` holds shared templates.
LAZY_JS = """
(function(){
 var pending={},seen=false,config=PLOT_CONFIG;
 function draw(id){var f=pending[id];if(!f){return;}delete pending[id];
  if(typeof f.layout.template==="string"){f.layout.template=window.auditappTemplates[f.layout.template];}
  Plotly.newPlot(id,f.data,f.layout,config);}
 window.auditappFigure=function(id,f){pending[id]=f;if(seen&&!window.IntersectionObserver){draw(id);}};
 window.auditappDrawAll=function(){Object.keys(pending).forEach(draw);};
 function start(){seen=true;
  if(!window.IntersectionObserver){window.auditappDrawAll();return;}
  var observer=new IntersectionObserver(function(entries){entries.forEach(function(e){
   if(e.isIntersecting){observer.unobserve(e.target);draw(e.target.id);}});},{rootMargin:"800px 0px"});
  document.querySelectorAll(".figure").forEach(function(el){observer.observe(el);});}
 if(document.readyState==="loading"){document.addEventListener("DOMContentLoaded",start);}else{start();}
 window.addEventListener("beforeprint",function(){window.auditappDrawAll();});
})();
""".replace("PLOT_CONFIG", json.dumps(PLOT_CONFIG))


def e(value: object) -> str:
    """Text as HTML (quotes included): every user-provided string goes through here."""
    return html.escape(str(value), quote=True)


escape = e


def safe_json(payload: str) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` left."""
    return payload.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


class Templates:
    """Layout templates seen while writing figures, each written once into the page."""

    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}

    def reference(self, layout: dict[str, Any]) -> dict[str, Any]:
        template = layout.get("template")
        if not isinstance(template, dict):
            return layout
        text = json.dumps(template, sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(text.encode()).hexdigest()[:12]
        self.by_key.setdefault(key, text)
        return {**layout, "template": key}

    def script(self) -> str:
        items = ",".join(f'"{k}":{v}' for k, v in self.by_key.items())
        return f"<script>window.auditappTemplates={{{safe_json(items)}}};</script>"


def figure_html(fig: go.Figure, div_id: str, templates: Templates | None = None) -> str:
    """A chart as a ``<figure>``: a ``<div>`` with the inline script that registers ``fig`` to be drawn with
    the embedded plotly.js, then the chart's numbers as a table (from :func:`describe`'s text)."""
    import plotly.io as pio

    payload = json.loads(pio.to_json(fig, validate=False))  # numeric arrays as compact base64
    layout = payload.get("layout", {})
    if templates is not None:
        layout = templates.reference(layout)
    data = safe_json(json.dumps({"data": payload.get("data", []), "layout": layout}, separators=(",", ":"),
                                ensure_ascii=False))
    text = figure_text(fig)
    numbers = ""
    if text is not None and text.columns and text.rows:
        caption = f"<caption>{e(text.note)}</caption>" if text.note else ""
        rows = [[e(c) for c in row] for row in text.rows]
        numbers = ("<details><summary>Table of the chart's numbers</summary>"
                   + table([e(c) for c in text.columns], rows,
                           label=f"Numbers of the chart: {text.summary.split('. ')[0]}")
                   .replace("<table>", f"<table>{caption}", 1) + "</details>")
    return (f'<figure class="chart"><div class="figure" id="{e(div_id)}"></div>'
            f'<script>auditappFigure("{e(div_id)}",{data});</script>{numbers}</figure>')


def table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), *,
          css: str = "", label: str = "") -> str:
    """An HTML table in a box that scrolls sideways on its own (never the page), named for screen readers.

    Header and cells are given already escaped (or as trusted markup); ``label`` is plain text (by
    default the table's first column headers).
    """
    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    name = label or "Table: " + ", ".join(_plain(h) for h in list(header)[:4]) + (", …" if len(header) > 4 else "")
    return (f'<div class="table-scroll" role="region" tabindex="0" aria-label="{e(name)}">'
            f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", str(markup)))
def bullets(lines: Sequence[str], css: str = "") -> str:
    """A list of plain-text sentences (escaped)."""
    cls = f' class="{css}"' if css else ""
    return f"<ul{cls}>" + "".join(f"<li>{e(line)}</li>" for line in lines if line) + "</ul>"
