"""The frame around every page: navigation, session and state stores, global alerts."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids


def navbar() -> dbc.Navbar:
    pages = sorted(dash.page_registry.values(), key=lambda p: p.get("order", 99))
    links = [dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact")) for p in pages]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.Span("⚖ ", **{"aria-hidden": "true"}), "auditapp"], href="/"),
            dbc.Nav(links, navbar=True, className="me-auto"),
            dbc.Button("Download report", id=ids.REPORT_BUTTON, color="light", outline=True, size="sm",
                       title="A self-contained HTML report of this audit, with its audit record"),
            dcc.Download(id=ids.REPORT_DOWNLOAD),
        ], fluid=True),
        color="dark", dark=True, className="mb-3",
    )


def shell(*, session_token: str, initial_state: dict | None) -> html.Div:
    """The app layout for one page load.

    ``session_token`` is the browser's workspace token (from its cookie, every load). The workspace's
    state and finished results live in ``localStorage``: every tab of the browser shares them and sees
    another tab's changes at once (``assets/workspace.js`` clears them when the workspace changes).
    """
    return html.Div([
        dcc.Location(id=ids.LOCATION, refresh="callback-nav"),
        dcc.Store(id=ids.SESSION_STORE, storage_type="memory", data=session_token),
        dcc.Store(id=ids.STATE_STORE, storage_type="local", data=initial_state),
        dcc.Store(id=ids.UPLOAD_RESULT_STORE, storage_type="memory"),
        dcc.Store(id=ids.RESULTS_STORE, storage_type="local", data={}),
        navbar(),
        dbc.Container([html.Div(id=ids.GLOBAL_ALERT), queue_notices(), dash.page_container], fluid=True,
                      className="pb-5"),
    ])


HIDDEN = {"display": "none"}


def queue_notices() -> html.Div:
    """Where a user sees their place in the server's queues, and cancels a waiting or running audit."""
    return html.Div([
        html.Div(dbc.Alert([
            html.Span(id=ids.QUEUE_AUDIT_TEXT, className="me-3"),
            dbc.Button("Cancel", id=ids.QUEUE_AUDIT_CANCEL, color="secondary", outline=True, size="sm"),
        ], color="info", className="mb-3 d-flex align-items-center"),
            id=ids.QUEUE_AUDIT_NOTICE, style=HIDDEN, role="status"),
        dcc.Interval(id=ids.QUEUE_INTERVAL, interval=500, disabled=True),
        html.Div(id=ids.QUEUE_JOB_NOTICE, role="status"),
    ])
