"""HTML pieces shared by the report's sections: escaping, tables, and figures drawn when they are needed.

A figure is written as a ``<div>`` and a one-line script that hands its JSON to ``auditappFigure``; the
page draws a figure when it comes near the screen (and every figure before printing), so opening a long
report costs the parse of plotly.js and the few charts on the first screen, not every chart at once.
Layout templates are written once (``TEMPLATES``) and shared by reference, which keeps each figure lean.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence

import plotly.graph_objects as go

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
               "modeBarButtonsToRemove": ["sendDataToCloud"]}
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


def e(value) -> str:
    """Text as HTML (quotes included)."""
    return html.escape(str(value), quote=True)


def safe_json(payload: str) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&`` left."""
    return payload.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


class Templates:
    """Layout templates seen while writing figures, each written once into the page."""

    def __init__(self):
        self.by_key: dict[str, str] = {}

    def reference(self, layout: dict) -> dict:
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
    """A ``<div>`` and the inline script that registers ``fig`` to be drawn with the embedded plotly.js."""
    import plotly.io as pio

    payload = json.loads(pio.to_json(fig, validate=False))  # numeric arrays as compact base64
    layout = payload.get("layout", {})
    if templates is not None:
        layout = templates.reference(layout)
    data = safe_json(json.dumps({"data": payload.get("data", []), "layout": layout}, separators=(",", ":"),
                                ensure_ascii=False))
    return f'<div class="figure" id="{e(div_id)}"></div><script>auditappFigure("{e(div_id)}",{data});</script>'


def table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), *,
          css: str = "") -> str:
    """An HTML table; cells are given already escaped (or as trusted markup)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bullets(lines: Sequence[str], css: str = "") -> str:
    """A list of plain-text sentences (escaped)."""
    cls = f' class="{css}"' if css else ""
    return f"<ul{cls}>" + "".join(f"<li>{e(line)}</li>" for line in lines if line) + "</ul>"
