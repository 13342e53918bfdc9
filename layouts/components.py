"""Shared building blocks: cards, labelled controls, alerts, upload zones, grids."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html


def card(title: str, *children, help_text: str | None = None, **kwargs) -> dbc.Card:
    """A titled card with an optional one-line explanation under the title."""
    header = [html.H5(title, className="mb-0")]
    if help_text:
        header.append(html.Small(help_text, className="text-muted"))
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(list(children))], className="mb-3", **kwargs)


def labelled(label: str, control, help_text: str | None = None, *, html_for: str | None = None) -> html.Div:
    """A control with a visible label and a short help text below it."""
    parts = [dbc.Label(label, html_for=html_for or getattr(control, "id", None), className="fw-semibold mb-1"),
             control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return html.Div(parts, className="mb-3")


def error_alert(message: str, *, title: str = "Something needs your attention") -> dbc.Alert:
    """A dismissible red alert; the message is shown as text, never as markup."""
    return dbc.Alert([html.Strong(f"{title}: "), html.Span(str(message))], color="danger", dismissable=True,
                     className="mb-3")


def info_alert(message, *, color: str = "info", dismissable: bool = True) -> dbc.Alert:
    return dbc.Alert(message, color=color, dismissable=dismissable, className="mb-3")


def drop_zone(zone_id: str, progress_id: str, *, kind: str, prompt: str, accept: str) -> html.Div:
    """A drag-and-drop / click-to-choose upload area that streams the file to the server.

    The browser script in ``assets/upload.js`` posts the file to ``/api/upload/<kind>`` with progress.
    """
    return html.Div([
        html.Div([
            html.Div("⬆", className="fs-3", **{"aria-hidden": "true"}),
            html.Div(prompt),
            html.Small("Drop a file here or click to choose one.", className="text-muted"),
        ], id=zone_id, className="auditapp-drop", tabIndex="0", role="button", title=prompt,
            **{"data-kind": kind, "data-progress": progress_id, "data-accept": accept}),
        dbc.Progress(id=progress_id, value=0, className="mt-2 d-none", striped=True, animated=True,
                     style={"height": "1.2rem"}),
    ])


def grid(grid_id: str, *, height: int = 320, **kwargs) -> dag.AgGrid:
    """An AG Grid with sensible defaults (sortable, resizable, text rendered as text)."""
    return dag.AgGrid(
        id=grid_id, rowData=[], columnDefs=[],
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
        dashGridOptions={"domLayout": "normal", "tooltipShowDelay": 300},
        style={"height": f"{height}px"}, className="ag-theme-alpine mb-2", **kwargs,
    )


def graph(graph_id: str, *, height: int | None = 420) -> dcc.Loading:
    """A graph with a loading indicator while its callback runs.

    ``height=None`` lets the figure's own layout height decide (figures that grow with their rows).
    """
    style = {"height": f"{height}px"} if height is not None else {}
    return dcc.Loading(dcc.Graph(id=graph_id, config={"displaylogo": False}, style=style),
                       type="default", delay_show=300)
