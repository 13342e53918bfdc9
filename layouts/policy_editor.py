"""Component trees of the Policy page's editor (one form per criterion) and its verdict board's columns.

A criterion is edited with ordinary controls: dropdowns open with one click, a bound is cleared by
emptying its field, and each control has its label. Every control's id is
``{"type": POLICY_FIELD_TYPE, "row": <row id>, "field": <field>}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.core.rates import LABELS, METRICS
from auditapp.policy.criteria import GROUPINGS, MEASURES, SCOPES
from auditapp.service.policy_forms import ROLES, SCOPE_WORDS, VERDICT_STYLE
from layouts import ids
from layouts.components import labelled

_MEASURE_WORDS = {"rate": "the group's own rate", "difference": "a difference (group − other)",
                  "ratio": "a ratio (group ÷ other)"}
_GROUPING_WORDS = {"all": "every grouping", "single": "single attributes", "intersections": "intersections only"}
_ROLE_WORDS = {"required": "required: decides the verdict", "monitored": "monitored: reported only"}


def _dom_id(component_id: Mapping[str, Any]) -> str:
    """The id as the browser's DOM has it (Dash writes a dict id as sorted, compact JSON)."""
    return json.dumps(dict(component_id), sort_keys=True, separators=(",", ":"))


def _field_id(row_id: str, field: str) -> dict[str, str]:
    return {"type": ids.POLICY_FIELD_TYPE, "row": row_id, "field": field}


def _select(row: Mapping[str, Any], field: str, label: str, options: list[dict]) -> html.Div:
    control = dcc.Dropdown(id=_field_id(row["row_id"], field), options=options, value=row.get(field),
                           clearable=False, searchable=False)
    return labelled(label, control, html_for=_dom_id(control.id))


def _number(row: Mapping[str, Any], field: str, label: str, *, integer: bool = False) -> html.Div:
    control = dbc.Input(id=_field_id(row["row_id"], field), type="number", value=row.get(field),
                        step=1 if integer else "any", min=1 if integer else None, debounce=True,
                        placeholder="none" if not integer else "30")
    return labelled(label, control, html_for=_dom_id(control.id))


# Where a form's "Criterion N" is in its tree (form → header → title): a removal renumbers the forms after
# the removed one there, leaving their controls (and what is being typed in them) alone.
TITLE_PATH = ("props", "children", 0, "props", "children", 0, "props", "children")


def criterion_title(number: int) -> str:
    return f"Criterion {number}"


def criterion_form(row: Mapping[str, Any], number: int) -> html.Div:
    """The controls of one criterion (``row`` as ``policy_forms.editor_rows`` gives it)."""
    name = dbc.Input(id=_field_id(row["row_id"], "name"), value=row.get("name") or "", debounce=True,
                     placeholder="empty: named from its settings")
    title, remove = f"policy-criterion-title-{row['row_id']}", f"policy-criterion-remove-{row['row_id']}"
    return html.Div([
        html.Div([
            html.Strong(criterion_title(number), id=title, className="me-auto"),
            html.Button(html.Span("Remove", id=remove), id={"type": ids.POLICY_REMOVE_TYPE, "row": row["row_id"]},
                        type="button", className="btn btn-link btn-sm p-0 text-danger",
                        **{"aria-labelledby": f"{remove} {title}"}),  # read as "Remove Criterion 2"
        ], className="d-flex align-items-center mb-2"),
        dbc.Row([
            dbc.Col(labelled("Name", name, html_for=_dom_id(name.id)), md=3),
            dbc.Col(_select(row, "metric", "Metric", [{"label": LABELS[m], "value": m} for m in METRICS]), md=3),
            dbc.Col(_select(row, "measure", "Checked as", [{"label": _MEASURE_WORDS[m], "value": m}
                                                           for m in MEASURES]), md=3),
            dbc.Col(_select(row, "scope", "Compared with", [{"label": SCOPE_WORDS[s], "value": s}
                                                            for s in SCOPES]), md=3),
        ], className="g-2"),
        dbc.Row([
            dbc.Col(_number(row, "at_least", "At least"), md=2),
            dbc.Col(_number(row, "at_most", "At most"), md=2),
            dbc.Col(_number(row, "min_group_size", "Min group size", integer=True), md=2),
            dbc.Col(_select(row, "role", "Role", [{"label": _ROLE_WORDS[r], "value": r} for r in ROLES]), md=3),
            dbc.Col(_select(row, "groupings", "Groupings", [{"label": _GROUPING_WORDS[g], "value": g}
                                                            for g in GROUPINGS]), md=3),
        ], className="g-2"),
    ], id=f"policy-criterion-{row['row_id']}", className="border rounded p-2 pb-0 mb-2 policy-criterion")


def criteria_forms(rows: list[Mapping[str, Any]]) -> list:
    """Every criterion's form (none: the line after the list says there is none yet)."""
    return [criterion_form(row, i) for i, row in enumerate(rows, start=1)]


def no_criteria_line() -> html.P:
    """Shown while the criteria list is empty (by CSS: the list is then ``:empty``)."""
    return html.P("No criteria yet: press “Add criterion” to add the first one, or choose a preset.",
                  className="text-muted mb-2 policy-no-criteria")


_MARK_STYLE = {"styleConditions": [
    {"condition": f"params.data.verdict == '{kind}'", "style": dict(style, fontWeight="700")}
    for kind, style in VERDICT_STYLE.items()]}


def board_columns(level: str = "95%") -> list[dict]:
    """The verdict board's columns (the bound next to the criterion, so it is never scrolled away);
    the interval's header names its confidence level."""
    wrap = {"wrapText": True, "autoHeight": True}
    return [
        {"field": "mark", "headerName": "Verdict", "cellStyle": _MARK_STYLE, "width": 160, "pinned": "left"},
        {"field": "criterion", "headerName": "Criterion", "minWidth": 170, "flex": 1, **wrap},
        {"field": "bound", "headerName": "Bound", "width": 170, **wrap},
        {"field": "grouping", "headerName": "Grouping", "width": 140, **wrap},
        {"field": "group", "headerName": "Group", "minWidth": 150, "flex": 1, **wrap},
        {"field": "compared_with", "headerName": "Compared with", "width": 165, **wrap},
        {"field": "value", "headerName": "Value", "width": 100, "type": "rightAligned"},
        {"field": "ci", "headerName": f"{level} CI", "width": 160},
        {"field": "count", "headerName": "n", "width": 80, "type": "rightAligned"},
        {"field": "role", "headerName": "Role", "width": 110},
        {"field": "reason", "headerName": "Why", "minWidth": 240, "flex": 2, "tooltipField": "reason", **wrap},
    ]
