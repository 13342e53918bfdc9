"""Policy & report: choose or build a risk-tolerance policy and read its verdicts on the current audit."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.policy.criteria import PRESETS
from layouts import ids
from layouts.components import card, graph, grid_options, labelled, named_grid
from layouts.policy_editor import board_columns, no_criteria_line

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


_HOW_TO_READ = [
    html.Li([html.Strong("Checked as: "), "“the group's own rate”; “a difference” is group − other (0.1 = 10 "
             "percentage points); “a ratio” is group ÷ other (0.8 = four fifths)."]),
    html.Li([html.Strong("Compared with: "), "the reference group; the group with the highest rate (as the "
             "four-fifths rule does); max−min across groups; or nothing (the group on its own, for a rate)."]),
    html.Li([html.Strong("At least / at most: "), "the bounds, in the measure's own numbers (0.8, or 0.1 for "
             "10 points); give one or both; empty a field to drop that bound."]),
    html.Li([html.Strong("Min group size: "), "smaller groups are marked “not evaluable” instead of judged."]),
    html.Li([html.Strong("Role: "), "required criteria decide the verdict; monitored ones are only reported."]),
    html.Li([html.Strong("Name: "), "leave it empty to name the criterion from its settings; names are unique."]),
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
            html.Div(id=ids.POLICY_CRITERIA_LIST, className="policy-criteria-list"),
            no_criteria_line(),
            dcc.Store(id=ids.POLICY_ROWS_STORE, storage_type="memory"),
            html.Div([
                dbc.Button("Add criterion", id=ids.POLICY_ADD_BUTTON, color="secondary", outline=True,
                           className="me-2"),
                dbc.Button("Check this policy", id=ids.POLICY_CHECK_BUTTON, color="primary", className="me-3"),
                html.Span(id=ids.POLICY_EDITOR_STATUS, role="status"),
            ], className="d-flex align-items-center flex-wrap mb-2"),
            html.Details([html.Summary("How to read the fields"), html.Ul(_HOW_TO_READ, className="small")]),
            help_text="Edit any field, add or remove criteria, then press “Check this policy”. The verdict "
                      "below is always the verdict of the policy shown here, or it is cleared.",
        ),
        html.Div(id=ids.POLICY_STALE_NOTICE),
        html.Div([
            card("3. Verdict",
                 dcc.Loading(html.Div(id=ids.POLICY_OVERALL)),
                 html.Div(id=ids.POLICY_SUMMARY, className="auditapp-scroll"),
                 help_text="✔ pass: the value and its whole confidence interval meet the bound. ✘ fail: the "
                           "whole interval misses it. ? inconclusive: the interval crosses the bound, so the data "
                           "cannot tell. – not evaluable: too few rows, or the rate is undefined."),
            card("Findings", html.Div(html.Ul(id=ids.POLICY_FINDINGS, className="mb-0"), tabIndex="0",
                                      role="region", **{"aria-label": "Findings"},
                                      style={"maxHeight": "440px", "overflowY": "auto"}),
                 help_text="One sentence for every check that fails or is inconclusive, with its numbers "
                           "(required checks first; scroll for more)."),
            card("Verdicts by group",
                 labelled("Criterion", dcc.Dropdown(id=ids.POLICY_CRITERION_DROPDOWN, clearable=False)),
                 graph(ids.POLICY_VERDICT_GRAPH, height=None),
                 html.P("Each point is the checked number for one group, with its confidence interval as "
                        "whiskers; dashed lines are the bounds. A point passes when its whole whisker is inside "
                        "the bounds.", className="text-muted small"),
                 _grid(ids.POLICY_BOARD_GRID, board_columns(), label="Every criterion for every group", height=380),
                 help_text="Every criterion for every group; sort or filter any column."),
        ], id=ids.POLICY_VERDICT_AREA),
    ])
