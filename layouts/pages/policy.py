"""Policy & report: choose or build a risk-tolerance policy and read its verdicts on the current audit."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.policy import GROUPINGS, MEASURES, PRESETS, SCOPES
from auditapp.policy_forms import ROLES, VERDICT_STYLE
from auditapp.rates import METRICS
from layouts import ids
from layouts.components import card, graph, grid_options, labelled, named_grid

dash.register_page(__name__, path="/policy", name="Policy & report", order=6, title="Policy & report · auditapp")

_PRESET_OPTIONS = [{"label": name, "value": name} for name in PRESETS] + [
    {"label": "custom (start from an empty policy)", "value": "custom"}]


def _grid(grid_id: str, columns: list[dict], *, label: str, height: int, **options) -> html.Div:
    """An AG Grid with fixed columns, named ``label`` (``components.grid`` sets its columns in callbacks)."""
    return named_grid(dag.AgGrid(
        id=grid_id, rowData=[], columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
        dashGridOptions=grid_options(**options.pop("grid_options", {})),
        style={"height": f"{height}px"}, className="ag-theme-alpine mb-2", **options,
    ), label)


def _select(field: str, values, width: int, header: str | None = None) -> dict:
    return {"field": field, "headerName": header or field, "editable": True, "width": width,
            "cellEditor": "agSelectCellEditor", "cellEditorParams": {"values": list(values)}}


def _number(field: str, header: str, *, integer: bool = False) -> dict:
    return {"field": field, "headerName": header, "editable": True, "width": 130,
            "cellEditor": "agNumberCellEditor",
            "cellEditorParams": {"precision": 0, "min": 1} if integer else {"step": 0.05}}


_EDITOR_COLUMNS = [
    {"field": "name", "headerName": "name", "editable": True, "minWidth": 200, "flex": 1},
    _select("metric", METRICS, 200), _select("measure", MEASURES, 120), _select("scope", SCOPES, 120),
    _number("at_least", "at least"), _number("at_most", "at most"),
    _number("min_group_size", "min group size", integer=True),
    _select("role", ROLES, 130), _select("groupings", GROUPINGS, 140),
]
_MARK_STYLE = {"styleConditions": [
    {"condition": f"params.data.verdict == '{kind}'", "style": dict(style, fontWeight="700")}
    for kind, style in VERDICT_STYLE.items()]}
_BOARD_COLUMNS = [
    {"field": "mark", "headerName": "Verdict", "cellStyle": _MARK_STYLE, "width": 170, "pinned": "left"},
    {"field": "criterion", "headerName": "Criterion", "minWidth": 200},
    {"field": "role", "headerName": "Role", "width": 120},
    {"field": "grouping", "headerName": "Grouping", "width": 150},
    {"field": "group", "headerName": "Group", "minWidth": 180},
    {"field": "compared_with", "headerName": "Compared with", "minWidth": 140},
    {"field": "value", "headerName": "Value", "width": 110, "type": "rightAligned"},
    {"field": "ci", "headerName": "95% CI", "width": 170},
    {"field": "bound", "headerName": "Bound", "minWidth": 160},
    {"field": "count", "headerName": "n", "width": 90, "type": "rightAligned"},
    {"field": "reason", "headerName": "Why", "minWidth": 220, "flex": 1, "tooltipField": "reason"},
]

_HOW_TO_READ = [
    html.Li([html.Strong("measure: "), "“rate” checks a group's own rate; “difference” is group − comparison "
             "(0.1 = 10 percentage points); “ratio” is group ÷ comparison (0.8 = four fifths)."]),
    html.Li([html.Strong("scope: "), "what each group is compared with: “reference” (the reference group), "
             "“vs_best” (the group with the highest rate, as the four-fifths rule does), “spread” "
             "(highest against lowest across groups) or “group” (no comparison, with measure “rate”)."]),
    html.Li([html.Strong("at least / at most: "), "the bounds; give one or both."]),
    html.Li([html.Strong("min group size: "), "smaller groups are marked “not evaluable” instead of judged."]),
    html.Li([html.Strong("role: "), "“required” criteria decide the verdict; “monitored” ones are only reported."]),
    html.Li([html.Strong("groupings: "), "“single” attributes, their “intersections”, or “all”."]),
]


def layout(**_query):
    return html.Div([
        html.H1("Policy & report", className="h2"),
        html.P("A policy states how much disparity your product can tolerate. Choose a preset or build your "
               "own, and see whether the current audit meets it. The “Download report” button at the top "
               "right includes these verdicts.", className="lead"),
        html.Div(id=ids.POLICY_ALERT),
        card(
            "1. Choose a policy",
            dbc.Row([
                dbc.Col([
                    labelled("Preset", dcc.Dropdown(id=ids.POLICY_PRESET_DROPDOWN, options=_PRESET_OPTIONS,
                                                    placeholder="Choose a preset…", clearable=False),
                             "Choosing one checks it at once and copies its criteria into the editor below."),
                    html.P(id=ids.POLICY_DESCRIPTION, className="text-muted mb-0"),
                ], md=6),
                dbc.Col([
                    labelled("Or load a policy file", dcc.Upload(
                        html.Div(["⬆ Drop a .yaml or .json policy here, or ", html.U("choose one")]),
                        id=ids.POLICY_UPLOAD, accept=".yaml,.yml,.json", max_size=100_000, multiple=False,
                        className="auditapp-upload",
                        style={"border": "2px dashed #6c757d", "borderRadius": ".5rem", "padding": ".6rem",
                               "textAlign": "center", "cursor": "pointer", "background": "#f8f9fa"},
                        style_active={"borderColor": "#0072B2", "background": "#eef6fb"}),
                        "A file saved from this page, or one you wrote (the same format as "
                        "auditapp audit --policy FILE)."),
                    html.Div([
                        html.Span("Save the editor's policy as ", className="me-2"),
                        dbc.Button("YAML", id=ids.POLICY_SAVE_YAML_BUTTON, color="secondary", outline=True,
                                   size="sm", className="me-2"),
                        dbc.Button("JSON", id=ids.POLICY_SAVE_JSON_BUTTON, color="secondary", outline=True,
                                   size="sm"),
                        dcc.Download(id=ids.POLICY_DOWNLOAD),
                    ]),
                ], md=6),
            ]),
        ),
        card(
            "2. Criteria",
            dbc.Row(dbc.Col(labelled("Policy name", dbc.Input(id=ids.POLICY_NAME_INPUT, placeholder="custom policy",
                                                              debounce=True)), md=6)),
            _grid(ids.POLICY_EDITOR_GRID, _EDITOR_COLUMNS, label="Criteria", height=240,
                  getRowId="params.data.row_id",
                  grid_options={"singleClickEdit": True, "stopEditingWhenCellsLoseFocus": True,
                                "rowSelection": {"mode": "multiRow", "enableClickSelection": False}}),
            html.Div([
                dbc.Button("Add criterion", id=ids.POLICY_ADD_BUTTON, color="secondary", outline=True,
                           className="me-2"),
                dbc.Button("Remove selected", id=ids.POLICY_REMOVE_BUTTON, color="secondary", outline=True,
                           className="me-2"),
                dbc.Button("Check this policy", id=ids.POLICY_CHECK_BUTTON, color="primary"),
            ], className="mb-2"),
            html.Details([html.Summary("How to read the columns"), html.Ul(_HOW_TO_READ, className="small")]),
            help_text="Click a cell to edit it; tick rows to remove them; then press “Check this policy”.",
        ),
        card("3. Verdict",
             dcc.Loading(html.Div(id=ids.POLICY_OVERALL)),
             html.Div(id=ids.POLICY_SUMMARY, className="auditapp-scroll"),
             help_text="✔ pass: the value and its whole 95% confidence interval meet the bound. ✘ fail: the "
                       "whole interval misses it. ? inconclusive: the interval crosses the bound, so the data "
                       "cannot tell. – not evaluable: too few rows, or the rate is undefined."),
        card("Findings", html.Div(html.Ul(id=ids.POLICY_FINDINGS, className="mb-0"), tabIndex="0",
                                  role="region", **{"aria-label": "Findings"},
                                  style={"maxHeight": "440px", "overflowY": "auto"}),
             help_text="One sentence for every check that fails or is inconclusive, with its numbers "
                       "(required checks first; scroll for more)."),
        card("Verdicts by group",
             labelled("Criterion", dcc.Dropdown(id=ids.POLICY_CRITERION_DROPDOWN, clearable=False)),
             graph(ids.POLICY_VERDICT_GRAPH, height=380),
             html.P("Each point is the checked number for one group, with its 95% confidence interval as "
                    "whiskers; dashed lines are the bounds. A point passes when its whole whisker is inside "
                    "the bounds.", className="text-muted small"),
             _grid(ids.POLICY_BOARD_GRID, _BOARD_COLUMNS, label="Every criterion for every group", height=380),
             help_text="Every criterion for every group; sort or filter any column."),
    ])
