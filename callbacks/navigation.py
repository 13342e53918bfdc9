"""The navigation's toggle below 992 px: open and close the collapsed links; a route change closes them."""

from __future__ import annotations

from dash import Input, Output, State, clientside_callback

from layouts import ids

clientside_callback(
    f"""
    function(nClicks, pathname, isOpen) {{
        const triggered = window.dash_clientside.callback_context.triggered || [];
        const toggled = triggered.some(t => t.prop_id === "{ids.NAV_TOGGLER}.n_clicks");
        const open = toggled ? !isOpen : false;
        return [open, open ? "true" : "false"];
    }}
    """,
    Output(ids.NAV_COLLAPSE, "is_open"), Output(ids.NAV_TOGGLER, "aria-expanded"),
    Input(ids.NAV_TOGGLER, "n_clicks"), Input(ids.LOCATION, "pathname"), State(ids.NAV_COLLAPSE, "is_open"),
    prevent_initial_call=True,
)
