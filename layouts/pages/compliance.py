"""Compliance: the deliverables rules define (NYC LL144, the Uniform Guidelines, fair lending, EU AI Act)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.compliance.forms import category_choices
from layouts import ids
from layouts.compliance_components import fixed_grid, mapping_grid
from layouts.components import card, graph, labelled

dash.register_page(__name__, path="/compliance", name="Compliance", order=7, title="Compliance · auditapp")

PACKS = [{"label": "NYC Local Law 144 bias audit", "value": "ll144"},
         {"label": "Uniform Guidelines adverse impact", "value": "ug"},
         {"label": "Fair lending (ECOA / Reg B)", "value": "fl"},
         {"label": "EU AI Act evidence", "value": "eu"}]
HIDDEN = {"display": "none"}


def _dropdown(component_id: str, **kwargs) -> dcc.Dropdown:
    return dcc.Dropdown(id=component_id, **kwargs)


def _ll144_section() -> html.Div:
    settings = card(
        "Columns and choices",
        dbc.Row([
            dbc.Col(labelled("The tool", dbc.RadioItems(id=ids.COMPLIANCE_LL144_KIND, inline=True, value="selection",
                                                        options=[{"label": "selects", "value": "selection"},
                                                                 {"label": "scores", "value": "score"}]),
                             "A selection tool decides; a scoring tool gives a score (rate: share above the median)."), md=4),
            dbc.Col(labelled("Tool output column", _dropdown(ids.COMPLIANCE_LL144_OUTCOME)), md=4),
            dbc.Col(labelled("Value meaning selected", dbc.Input(id=ids.COMPLIANCE_LL144_SELECTED_VALUE,
                                                                   placeholder="found from 1 / yes / true"),
                             "Only for a selection column with other values."), md=4),
        ]),
        dbc.Row([dbc.Col(labelled("Sex column", _dropdown(ids.COMPLIANCE_LL144_SEX)), md=6),
                 dbc.Col(labelled("Race/ethnicity column", _dropdown(ids.COMPLIANCE_LL144_RACE)), md=6)]),
        dbc.Row([
            dbc.Col(labelled("Scores equal to the median", dbc.RadioItems(
                id=ids.COMPLIANCE_LL144_TIES, value="not_above",
                options=[{"label": "count as not above (default)", "value": "not_above"},
                         {"label": "count as above", "value": "above"}])), md=4),
            dbc.Col(labelled("Median of", dbc.RadioItems(
                id=ids.COMPLIANCE_LL144_MEDIAN, value="all",
                options=[{"label": "all rows (the rule's full sample)", "value": "all"},
                         {"label": "rows with known categories", "value": "known"}])), md=4),
            dbc.Col(labelled("Exclude categories under (%)", dbc.Input(
                id=ids.COMPLIANCE_LL144_EXCLUDE, type="number", min=0, max=99, step="any", placeholder="e.g. 2"),
                "From the impact ratios only; they stay listed with n and rate."), md=4),
        ]),
        dbc.Row([
            dbc.Col(labelled("Source and explanation of the data", dbc.Input(
                id=ids.COMPLIANCE_LL144_SOURCE, placeholder="historical data from … / test data, because …"),
                "Required in the summary by the rule."), md=8),
            dbc.Col(labelled("Tool's distribution date", dbc.Input(id=ids.COMPLIANCE_LL144_DIST_DATE, type="date")), md=4),
        ]),
    )
    mapping = card(
        "Map your values to the rule's categories",
        dbc.Row([dbc.Col([html.H3("Sex", className="h6"),
                          mapping_grid(ids.COMPLIANCE_LL144_SEX_GRID, category_choices("sex"),
                                       label="Sex: your values and their categories")], md=5),
                 dbc.Col([html.H3("Race/ethnicity (EEO-1)", className="h6"),
                          mapping_grid(ids.COMPLIANCE_LL144_RACE_GRID, category_choices("race_ethnicity"),
                                       label="Race/ethnicity: your values and their categories")], md=7)]),
        dbc.Checklist(id=ids.COMPLIANCE_LL144_UNMAPPED, className="mb-2",
                      options=[{"label": "Count values left blank as unknown (listed in the summary)", "value": "unknown"}]),
        dbc.Button("Compute the bias audit", id=ids.COMPLIANCE_LL144_RUN, color="primary"),
        help_text="Values already spelled as a category need nothing. Blank values stop the audit with a list, "
                  "unless you count them as unknown.",
    )
    results = card(
        "Bias audit (6 RCNY §5-301)",
        dcc.Loading(html.Ul(id=ids.COMPLIANCE_LL144_SUMMARY, className="mb-2"), delay_show=200),
        html.Div([
            dbc.Button("Download summary (HTML)", id=ids.COMPLIANCE_LL144_HTML_BUTTON, color="secondary",
                       outline=True, size="sm", className="me-2"),
            dbc.Button("Download tables (CSV)", id=ids.COMPLIANCE_LL144_CSV_BUTTON, color="secondary", outline=True,
                       size="sm", className="me-2"),
            dbc.Button("Download record (JSON)", id=ids.COMPLIANCE_LL144_JSON_BUTTON, color="secondary",
                       outline=True, size="sm"),
        ], className="mb-2"),
        html.Div(id=ids.COMPLIANCE_LL144_TABLES),
        graph(ids.COMPLIANCE_LL144_GRAPH, height=420),
        help_text="The rule sets no pass/fail threshold; the 0.8 line is context only. To sign the record, "
                  "use `auditapp ll144 … --sign KEY`.",
    )
    return html.Div([settings, mapping, results], id=ids.COMPLIANCE_LL144_SECTION)


_UG_COLUMNS = [{"field": f, "headerName": h, "width": w, **({"type": "rightAligned"} if num else {})} for f, h, w, num in (
    ("group", "Group", 170, False), ("n", "n", 80, True), ("selected", "Selected", 100, True),
    ("rate", "Rate", 90, True), ("impact_ratio", "Impact ratio", 120, True), ("below_0_8", "< 0.8", 80, False),
    ("fisher_p", "Fisher p", 100, True), ("z", "z (2 SD)", 90, True), ("z_p", "z p", 90, True),
    ("flips_fisher", "Flips (Fisher)", 120, True), ("flips_z", "Flips (z)", 100, True),
    ("flips_to_0_8", "Flips to 0.8", 110, True), ("shortfall", "Shortfall", 100, True),
    ("highest", "", 120, False))]


def _ug_section() -> html.Div:
    return html.Div(card(
        "Adverse impact (29 CFR 1607.4(D))",
        dbc.Row([dbc.Col(labelled("Selection column", _dropdown(ids.COMPLIANCE_UG_SELECTED)), md=4),
                 dbc.Col(labelled("Value meaning selected", dbc.Input(id=ids.COMPLIANCE_UG_VALUE,
                                                                        placeholder="leave empty for 0/1")), md=4),
                 dbc.Col(labelled("Group column", _dropdown(ids.COMPLIANCE_UG_GROUP)), md=4)]),
        dbc.Button("Compute", id=ids.COMPLIANCE_UG_RUN, color="primary", className="mb-2"),
        html.P(id=ids.COMPLIANCE_UG_NOTE, className="small text-muted"),
        fixed_grid(ids.COMPLIANCE_UG_GRID, _UG_COLUMNS, label="Adverse impact by group", height=300),
        help_text="Each group against the highest-rate group: four-fifths ratio, two-tailed Fisher exact test, "
                  "two-standard-deviation test; flips: rejections that would have to become selections for the "
                  "test to stop being significant (or the ratio to reach 0.8); shortfall: selections lacking for "
                  "parity."), id=ids.COMPLIANCE_UG_SECTION, style=HIDDEN)


def _columns(*spec):
    return [{"field": f, "headerName": h, "minWidth": 90, **({"type": "rightAligned"} if n else {})} for f, h, n in spec]


def _fl_section() -> html.Div:
    return html.Div(card(
        "Fair lending: adverse impact ratios and standardized mean differences",
        dbc.Row([dbc.Col(labelled("Approval column", _dropdown(ids.COMPLIANCE_FL_APPROVED)), md=3),
                 dbc.Col(labelled("Value meaning approved", dbc.Input(id=ids.COMPLIANCE_FL_APPROVED_VALUE,
                                                                        placeholder="empty for 0/1")), md=3),
                 dbc.Col(labelled("Group", _dropdown(ids.COMPLIANCE_FL_GROUP),
                                  "A column, or the race probabilities from surname and ZIP."), md=3),
                 dbc.Col(labelled("Control group", _dropdown(ids.COMPLIANCE_FL_CONTROL)), md=3)]),
        dbc.Row([dbc.Col(labelled("Price or score (optional)", _dropdown(ids.COMPLIANCE_FL_PRICE),
                                  "For the standardized mean difference."), md=6),
                 dbc.Col(labelled("Segment (optional)", _dropdown(ids.COMPLIANCE_FL_SEGMENT),
                                  "Product, region…: the ratios are repeated within each."), md=6)]),
        dbc.Button("Compute", id=ids.COMPLIANCE_FL_RUN, color="primary", className="mb-2"),
        html.P(id=ids.COMPLIANCE_FL_NOTE, className="small text-muted"),
        graph(ids.COMPLIANCE_FL_GRAPH, height=360),
        fixed_grid(ids.COMPLIANCE_FL_AIR_GRID, _columns(
            ("segment", "Segment", False), ("group", "Group", False), ("n", "n", True), ("approval_rate", "Approval rate", True),
            ("air", "AIR", True), ("air_low", "AIR low", True), ("air_high", "AIR high", True),
            ("denial_rate", "Denial rate", True), ("denial_air", "Denial AIR", True)),
            label="Adverse impact ratios", height=300),
        fixed_grid(ids.COMPLIANCE_FL_SMD_GRID, _columns(
            ("segment", "Segment", False), ("group", "Group", False), ("n", "n", True), ("mean", "Mean", True),
            ("smd", "SMD", True), ("smd_low", "SMD low", True), ("smd_high", "SMD high", True),
            ("practically_significant", "|SMD| ≥ 0.30", False)),
            label="Standardized mean differences", height=240),
        help_text="AIR: approval rate ÷ the control group's (denial AIR above 1 is adverse). SMD: difference of "
                  "means in pooled standard deviations; 0.30 is a practice convention, not a legal threshold."),
        id=ids.COMPLIANCE_FL_SECTION, style=HIDDEN)


def _eu_section() -> html.Div:
    return html.Div(card(
        "EU AI Act evidence (Art. 10, Art. 15, Annex IV 2(g))",
        html.Div([dbc.Button("Map the current audit", id=ids.COMPLIANCE_EU_RUN, color="primary", className="me-2"),
                  dbc.Button("Download evidence (HTML)", id=ids.COMPLIANCE_EU_DOWNLOAD_BUTTON, color="secondary",
                             outline=True)], className="mb-2"),
        fixed_grid(ids.COMPLIANCE_EU_GRID, [
            {"field": "article", "headerName": "Article", "width": 150},
            {"field": "requirement", "headerName": "Requirement", "minWidth": 240, "wrapText": True, "autoHeight": True},
            {"field": "status", "headerName": "Status", "width": 110},
            {"field": "evidence", "headerName": "Evidence in this audit", "flex": 1, "minWidth": 360, "wrapText": True,
             "autoHeight": True, "tooltipField": "evidence"}], label="EU AI Act evidence", height=520),
        help_text="What the audit on Group metrics holds, mapped to the documentation the Act asks for. A map "
                  "of evidence, not legal advice. Sign the record with `auditapp audit … --sign KEY`."),
        id=ids.COMPLIANCE_EU_SECTION, style=HIDDEN)


def layout(**_query):
    return html.Div([
        html.H1("Compliance", className="h2"),
        html.P("The deliverable a rule defines, computed with the rule's own formulas from the dataset on the "
               "Data & model page.", className="lead"),
        html.Div(id=ids.COMPLIANCE_ALERT),
        html.P(id=ids.COMPLIANCE_DATASET_TEXT, className="text-muted"),
        labelled("Pack", dbc.RadioItems(id=ids.COMPLIANCE_PACK_RADIO, options=PACKS, value="ll144", inline=True)),
        dcc.Store(id=ids.COMPLIANCE_LL144_FORM_STORE, storage_type="memory"),
        dcc.Download(id=ids.COMPLIANCE_DOWNLOAD),
        _ll144_section(), _ug_section(), _fl_section(), _eu_section(),
    ])
