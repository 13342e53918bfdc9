"""The frame around every page: skip link, navigation, main landmark, stores, global alerts, announcer.

Accessibility contract every page relies on (WCAG 2.1 AA, issue 20): the document has ``lang``
(``callbacks.assets.index_string``); a skip link jumps to ``<main>``; the navigation collapses behind a toggle below
992 px (so it does not fill the screen at 200% zoom); each page layout starts with its one ``<h1>``;
after a route change ``assets/a11y-shell.js`` moves focus to that ``<h1>``, says the new page's name in
``ROUTE_ANNOUNCER`` and marks the active link with ``aria-current="page"``.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

MAIN_ID = "main-content"
CHARTS_SCRIPT = "/_auditapp/charts.js"  # auditapp/figures/charts.js, served by callbacks.routes


def navbar() -> dbc.Navbar:
    pages = sorted(dash.page_registry.values(), key=lambda p: p.get("order", 99))
    links = [dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact")) for p in pages]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.Span("⚖ ", **{"aria-hidden": "true"}), "auditapp"], href="/"),
            html.Button([html.Span(className="navbar-toggler-icon", **{"aria-hidden": "true"})],
                        id=ids.NAV_TOGGLER, className="navbar-toggler", type="button",
                        **{"aria-label": "Pages", "aria-expanded": "false", "aria-controls": ids.NAV_COLLAPSE}),
            dbc.Collapse([
                dbc.Nav(links, navbar=True, className="me-auto"),
                dbc.Button("Download report", id=ids.REPORT_BUTTON, color="light", outline=True, size="sm",
                           title="A self-contained HTML report of this audit, with its audit record"),
            ], id=ids.NAV_COLLAPSE, navbar=True, is_open=False),
            dcc.Download(id=ids.REPORT_DOWNLOAD),
        ], fluid=True),
        color="dark", dark=True, expand="lg", className="mb-3",
    )


def page_container(page=None) -> html.Div:
    """Dash's page container (the router's location, content and title store), with ``page`` drawn in.

    ``page`` (``callbacks.first_view.InitialPage``) is the page the browser asked for, already drawn: the
    location is set to its address, so the router does not render it a second time. Without it the
    router fills the container, as Dash's own ``page_container`` does.
    """
    location = {"pathname": page.pathname, "search": page.search} if page is not None else {}
    return html.Div([
        dcc.Location(id="_pages_location", refresh="callback-nav", **location),
        html.Div(page.content if page is not None else None, id="_pages_content", disable_n_clicks=True),
        dcc.Store(id="_pages_store", data={"title": page.title} if page is not None else None),
        html.Div(id="_pages_dummy", disable_n_clicks=True),
    ])


def shell(*, session_token: str, initial_state: dict | None, page=None) -> html.Div:
    """The app layout for one page load (``page``: the page asked for, drawn; see :func:`page_container`).

    ``session_token`` is the browser's workspace token (from its cookie, every load). The workspace's
    state and finished results live in ``localStorage``: every tab of the browser shares them and sees
    another tab's changes at once (``assets/workspace.js`` clears them when the workspace changes).
    """
    return html.Div([
        html.A("Skip to the main content", href=f"#{MAIN_ID}", className="auditapp-skip-link"),
        dcc.Location(id=ids.LOCATION, refresh="callback-nav"),
        dcc.Store(id=ids.SESSION_STORE, storage_type="memory", data=session_token),
        dcc.Store(id=ids.STATE_STORE, storage_type="local", data=initial_state),
        dcc.Store(id=ids.UPLOAD_RESULT_STORE, storage_type="memory"),
        dcc.Store(id=ids.RESULTS_STORE, storage_type="local", data={}),
        html.Header(navbar()),
        html.Main([html.Div(id=ids.GLOBAL_ALERT), queue_notices(), page_container(page)],
                  id=MAIN_ID, tabIndex="-1", className="container-fluid pb-5"),
        html.Div(id=ids.ROUTE_ANNOUNCER, role="status", className="visually-hidden",
                 **{"aria-live": "polite", "aria-atomic": "true"}),
    ])


HIDDEN = {"display": "none"}


def queue_notices() -> html.Div:
    """Where a user sees their place in the server's queues, and cancels a waiting or running audit.

    The place is a live region (``role="status"``): a screen reader says it when it changes.
    """
    return html.Div([
        html.Div(dbc.Alert([
            html.Span(id=ids.QUEUE_AUDIT_TEXT, className="me-3", role="status",
                      **{"aria-live": "polite", "aria-atomic": "true"}),
            dbc.Button("Cancel", id=ids.QUEUE_AUDIT_CANCEL, color="dark", outline=True, size="sm"),
        ], color="info", className="mb-3 d-flex flex-wrap align-items-center gap-2"),
            id=ids.QUEUE_AUDIT_NOTICE, style=HIDDEN),
        dcc.Interval(id=ids.QUEUE_INTERVAL, interval=500, disabled=True),
        html.Div(id=ids.QUEUE_JOB_NOTICE, role="status"),
    ])
