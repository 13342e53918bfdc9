"""Shared building blocks: cards, labelled controls, alerts, upload zones, grids, charts, progress bars.

Accessibility contract (WCAG 2.1 AA, issue 20); pages get it by building controls with these helpers:

* ``labelled`` gives every control a visible label whose ``for`` is the control's id (pattern-matching
  ids included, as Dash writes them into the page) and an id'd help text. Radio and check groups become
  a ``<fieldset>`` with a ``<legend>``. ``assets/a11y-controls.js`` then names what Dash's components
  leave unnamed from that label: the dropdown's button (Dash names it by its value only), both parts of a
  slider (handle and number box), an upload's file input, a progress bar.
* ``grid`` is one Tab stop with the arrow keys inside, named, with filters reachable from the header.
* ``graph`` keeps a lean toolbar and a table of the chart's numbers one click away; the chart's text
  alternative and table come from the figure itself (``auditapp.figures.describe``).
* ``card`` titles are ``<h2>`` under the page's ``<h1>`` (styled as before).
"""

from __future__ import annotations

import json

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

# One toolbar button (download as PNG): every extra button was one more Tab stop per chart.
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": True, "modeBarButtons": [["toImage"]],
                "toImageButtonOptions": {"scale": 2}}
# Tab leaves the grid (the whole grid is one Tab stop); arrow keys move between cells and headers,
# Enter on a header sorts, Ctrl+Enter opens its filter. ``false`` hands the Tab key to the browser.
GRID_KEYBOARD = {"tabToNextCell": {"function": "false"}, "tabToNextHeader": {"function": "false"}}
_GROUPS = (dbc.RadioItems, dbc.Checklist, dcc.RadioItems, dcc.Checklist)


def dom_id(component_id) -> str:
    """The ``id`` attribute Dash writes for a component id: dict ids become compact JSON, keys sorted."""
    if isinstance(component_id, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(v, ensure_ascii=False)}"
                              for k, v in sorted(component_id.items())) + "}"
    return str(component_id)


def card(title: str, *children, help_text: str | None = None, **kwargs) -> dbc.Card:
    """A titled card (an ``<h2>`` under the page's ``<h1>``) with an optional line of explanation."""
    header = [html.H2(title, className="h5 mb-0")]
    if help_text:
        header.append(html.Small(help_text, className="text-muted"))
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(list(children))], className="mb-3", **kwargs)


def labelled(label: str, control, help_text: str | None = None, *, html_for: str | None = None) -> html.Div:
    """A control with a visible label (its accessible name) and a short help text (its description).

    Parameters
    ----------
    label : str
        The visible label; screen readers announce the control by it.
    control : Dash component
        Any control; radio and check groups are wrapped in a ``<fieldset>`` whose ``<legend>`` is the label.
    help_text : str, optional
        One line under the control, read as its description.
    html_for : str, optional
        The element the label is for, when it is not the control's own id.
    """
    target = html_for or (dom_id(control.id) if getattr(control, "id", None) is not None else None)
    help_part = [html.Small(help_text, className="form-text d-block",
                            id=f"{target}-help" if target else None)] if help_text else []
    if isinstance(control, _GROUPS):
        if isinstance(control, dbc.RadioItems) and getattr(control, "name", None) is None and target:
            control.name = target  # one Tab stop for the group; the arrow keys choose
        return html.Fieldset([html.Legend(label, className="form-label fw-semibold mb-1 fs-6"), control,
                              *help_part], className="mb-3 auditapp-field")
    return html.Div([dbc.Label(label, html_for=target, className="fw-semibold mb-1"), control, *help_part],
                    className="mb-3 auditapp-field")


def error_alert(message: str, *, title: str = "Something needs your attention") -> dbc.Alert:
    """A dismissible red alert; the message is shown as text, never as markup."""
    return dbc.Alert([html.Strong(f"{title}: "), html.Span(str(message))], color="danger", dismissable=True,
                     className="mb-3")


def info_alert(message, *, color: str = "info", dismissable: bool = True) -> dbc.Alert:
    return dbc.Alert(message, color=color, dismissable=dismissable, className="mb-3")


def progress(progress_id: str, name: str, **kwargs) -> html.Div:
    """A progress bar named ``name`` for screen readers (visually, its percentage says enough)."""
    return html.Div([html.Label(name, htmlFor=progress_id, className="visually-hidden"),
                     dbc.Progress(id=progress_id, **kwargs)])


def drop_zone(zone_id: str, progress_id: str, *, kind: str, prompt: str, accept: str) -> html.Div:
    """A drag-and-drop / click-to-choose upload area that streams the file to the server.

    The browser script in ``assets/upload.js`` posts the file to ``/api/upload/<kind>`` with progress.
    """
    return html.Div([
        html.Div([
            html.Div("⬆", className="fs-3", **{"aria-hidden": "true"}),
            html.Div(prompt),
            html.Small("Drop a file here or click to choose one.", className="text-muted"),
        ], id=zone_id, className="auditapp-drop", tabIndex="0", role="button",
            **{"data-kind": kind, "data-progress": progress_id, "data-accept": accept}),
        progress(progress_id, f"{prompt}: progress", value=0, className="mt-2 d-none", striped=True,
                 animated=True, style={"height": "1.2rem"}),
    ])


def grid_options(**options) -> dict:
    """``dashGridOptions`` for an accessible grid: one Tab stop, arrow keys inside; plus ``options``."""
    return {"domLayout": "normal", "tooltipShowDelay": 300, **GRID_KEYBOARD, **options}


GRID_HINT = ("Keyboard: Tab into the table, arrow keys to move, Enter on a column header to sort, "
             "Ctrl+Enter to filter it.")


def named_grid(grid: dag.AgGrid, label: str) -> html.Div:
    """Wrap an AG Grid: screen readers announce it as ``label``, and a line says how to use the keyboard."""
    return html.Div([grid, html.Small(GRID_HINT, className="text-muted d-block auditapp-grid-hint mb-2")],
                    className="auditapp-grid", **{"data-a11y-name": label})


def grid(grid_id: str, *, label: str, height: int = 320, columns: list | None = None,
         options: dict | None = None, **kwargs) -> html.Div:
    """An AG Grid with sensible defaults (sortable, resizable, text rendered as text), named ``label``.

    ``columns`` are its ``columnDefs`` (callbacks may set them later); ``options`` more ``dashGridOptions``.
    """
    return named_grid(dag.AgGrid(
        id=grid_id, rowData=[], columnDefs=columns or [],
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
        dashGridOptions=grid_options(**(options or {})),
        style={"height": f"{height}px"}, className="ag-theme-alpine mb-2", **kwargs,
    ), label)


def graph(graph_id: str, *, height: int | None = 420, min_height: int | None = None) -> html.Div:
    """A chart with a loading indicator, a lean toolbar, and its numbers as a table one click away.

    ``min_height`` lets the figure's own height grow the chart (e.g. one bar per feature);
    ``height=None`` lets the figure's own layout height decide (figures that grow with their rows);
    otherwise the chart is ``height`` pixels tall.
    """
    if min_height:
        style = {"minHeight": f"{min_height}px"}
    else:
        style = {"height": f"{height}px"} if height is not None else {}
    return html.Div([
        dcc.Loading(dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style=style), type="default", delay_show=300),
        html.Details([
            html.Summary("Table of the chart's numbers"),
            html.Div(className="auditapp-chart-table", **{"data-chart": graph_id}),
        ], className="auditapp-chart-data", hidden=True),
    ], className="auditapp-chart")


def candidate_downloads(model_button: str, predictions_button: str, model_download: str,
                        predictions_download: str) -> list:
    """A mitigation candidate's two downloads: its model file (skops) and its test predictions (CSV)."""
    return [
        dbc.Button("Download model (.skops)", id=model_button, color="primary", outline=True, className="me-2"),
        dbc.Button("Download test predictions (.csv)", id=predictions_button, color="primary", outline=True),
        dcc.Download(id=model_download),
        dcc.Download(id=predictions_download),
    ]
