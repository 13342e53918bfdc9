"""Plain data for the Policy page: editor rows ⇄ ``Policy``, uploaded policy files, verdict board rows.

The page edits a policy as a list of flat rows (one per criterion, as an AG Grid holds them) and
shows verdicts as rows of text. Everything here takes and returns plain Python data (dicts, lists,
strings) so it can be tested without Dash, and every number shown on the board is formatted here
from the verdicts the engine computed.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.core.rates import METRICS
from auditapp.core.validation import parse_number
from auditapp.policy.criteria import (
    GROUPINGS,
    MEASURES,
    PRESETS,
    SCOPES,
    Criterion,
    Policy,
    dump_policy,
    parse_policy,
    preset,
)
from auditapp.policy.verdict_format import exact, formatter
from auditapp.policy.verdicts import PolicyEvaluation
from auditapp.reporting.report import BOARD

ROLES = ("required", "monitored")
EDITOR_FIELDS = ("row_id", "name", "metric", "measure", "scope", "at_least", "at_most", "min_group_size",
                 "role", "groupings")
SCOPE_WORDS = {"group": "the group on its own", "reference": "the reference group",
               "vs_best": "the group with the highest rate", "spread": "max−min across groups"}
MAX_POLICY_BYTES = 100_000


def editor_rows(policy: Policy) -> list[dict[str, Any]]:
    """One editable row per criterion of ``policy`` (the inverse of ``policy_from_rows``).

    Parameters
    ----------
    policy : Policy
        A preset, an uploaded policy or one built earlier.

    Returns
    -------
    list of dict
        Keys ``EDITOR_FIELDS``; ``row_id`` numbers the rows from "1" (a string, as AG Grid wants), bounds are floats or None,
        ``role`` is "required" or "monitored".
    """
    return [{"row_id": str(i), "name": c.name, "metric": c.metric, "measure": c.measure, "scope": c.scope,
             "at_least": c.at_least, "at_most": c.at_most, "min_group_size": c.min_group_size,
             "role": "required" if c.required else "monitored", "groupings": c.groupings}
            for i, c in enumerate(policy.criteria, start=1)]


def blank_row(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A new criterion row to append to ``rows``: the four-fifths check, with a free ``row_id``.

    Its name is left empty so that the engine names it from its fields unless the user does.
    """
    used = [int(r["row_id"]) for r in rows if str(r.get("row_id") or "").isdigit()]
    return {"row_id": str(max(used, default=0) + 1), "name": "", "metric": "selection_rate", "measure": "ratio",
            "scope": "vs_best", "at_least": 0.8, "at_most": None, "min_group_size": 30, "role": "required",
            "groupings": "all"}


def _number(value: Any, where: str, field: str, *, integer: bool = False) -> Any:
    return parse_number(value, f"{where}: '{field}'", integer=integer)


def _choice(value: Any, where: str, field: str, allowed: Sequence[str]) -> str:
    text = "" if value is None else str(value).strip()
    if text not in allowed:
        raise AuditInputError(f"{where}: '{field}' is {text or 'empty'!r}; choose one of {', '.join(allowed)}.")
    return text


def _criterion(row: Mapping[str, Any], number: int) -> Criterion:
    name = str(row.get("name") or "").strip()
    where = f"Row {number}" + (f" ('{name}')" if name else "")
    fields = {
        "metric": _choice(row.get("metric"), where, "metric", METRICS),
        "measure": _choice(row.get("measure"), where, "measure", MEASURES),
        "scope": _choice(row.get("scope"), where, "scope", SCOPES),
        "at_least": _number(row.get("at_least"), where, "at_least"),
        "at_most": _number(row.get("at_most"), where, "at_most"),
        "required": _choice(row.get("role") or "required", where, "role", ROLES) == "required",
        "groupings": _choice(row.get("groupings") or "all", where, "groupings", GROUPINGS),
        "name": name,
    }
    size = _number(row.get("min_group_size"), where, "min_group_size", integer=True)
    if size is not None:
        fields["min_group_size"] = size
    try:
        return Criterion(**fields)
    except AuditInputError as exc:
        raise AuditInputError(f"{where}: {exc}") from exc


def policy_from_rows(rows: Sequence[Mapping[str, Any]], *, name: str | None = None) -> Policy:
    """Validate the editor's rows into a ``Policy``.

    A policy that keeps a preset's name but whose criteria were edited is renamed
    ``"<preset> (edited)"``, so that a report never shows edited bounds under a preset's name.

    Parameters
    ----------
    rows : sequence of mapping
        Rows with the keys of ``EDITOR_FIELDS`` (``row_id`` is ignored); bounds may be numbers,
        numeric strings or empty.
    name : str, optional
        The policy's name ("custom policy" when empty).

    Returns
    -------
    Policy

    Raises
    ------
    AuditInputError
        Naming the row and the field at fault, or when there are no rows.
    """
    if not rows:
        raise AuditInputError("The policy has no criteria. Press “Add criterion” or choose a preset to start "
                              "from.")
    criteria = _uniquely_named([_criterion(row, i) for i, row in enumerate(rows, start=1)],
                               [not str(row.get("name") or "").strip() for row in rows])
    title = str(name or "").strip() or "custom policy"
    description = "Built in the app."
    if title in PRESETS:
        original = preset(title)
        if original.criteria == criteria:
            return original
        title, description = f"{title} (edited)", f"Edited from the preset “{title}”."
    return Policy(name=title, criteria=criteria, description=description)


def _uniquely_named(criteria: list[Criterion], automatic: list[bool]) -> tuple[Criterion, ...]:
    """Criteria whose names are unique: a name the user typed twice is refused (naming both rows); a name
    made from the settings gets " (2)", " (3)"... when another criterion has it already."""
    typed: dict[str, int] = {}
    for number, (c, auto) in enumerate(zip(criteria, automatic, strict=True), start=1):
        if auto:
            continue
        if c.name in typed:
            raise AuditInputError(f"Rows {typed[c.name]} and {number} are both named '{c.name}'. Give each "
                                  "criterion its own name, or leave a name empty to have it named from its settings.")
        typed[c.name] = number
    taken = set(typed)
    out = []
    for c, auto in zip(criteria, automatic, strict=True):
        if auto:
            name, count = c.name, 1
            while name in taken:
                count += 1
                name = f"{c.name} ({count})"
            c = replace(c, name=name)
            taken.add(name)
        out.append(c)
    return tuple(out)


def rows_from_fields(values: Sequence[Any], field_ids: Sequence[Mapping[str, Any]],
                     order: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The editor's rows from its controls' values (pattern-matched ``{"row", "field"}`` ids), in the
    order of ``order`` (the rows as last laid out); rows without controls keep their stored values."""
    found: dict[str, dict[str, Any]] = {}
    for value, where in zip(values, field_ids, strict=True):
        found.setdefault(str(where["row"]), {})[where["field"]] = value
    return [dict(row, **found.get(str(row["row_id"]), {})) for row in order]


def same_policy(draft: Policy | None, checked: Policy | None) -> bool:
    """Whether the editor's policy is the checked one (same name and criteria; descriptions aside)."""
    return draft is not None and checked is not None and draft.name == checked.name \
        and draft.criteria == checked.criteria


def policy_from_upload(contents: str | None, filename: str | None) -> Policy:
    """The policy in a file uploaded with ``dcc.Upload`` (a ``data:...;base64,...`` string).

    Raises
    ------
    AuditInputError
        If the file is not .yaml/.yml/.json, is too large, not base64, or not a valid policy.
    """
    name = str(filename or "the file")
    suffix = PurePath(name).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise AuditInputError(f"'{name}' is not a policy file: its extension is '{suffix or 'none'}'. "
                              "Upload a .yaml, .yml or .json file saved from this page or written by hand.")
    if not contents or "," not in contents:
        raise AuditInputError(f"'{name}' arrived empty. Choose the file again.")
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuditInputError(f"'{name}' could not be read (the upload was damaged). Choose it again.") from exc
    if len(data) > MAX_POLICY_BYTES:
        raise AuditInputError(f"'{name}' is {len(data):,} bytes; a policy file is at most "
                              f"{MAX_POLICY_BYTES:,} bytes. Is this the right file?")
    try:
        return parse_policy(data, format="json" if suffix == ".json" else "yaml")
    except AuditInputError as exc:
        raise AuditInputError(f"{name}: {exc}") from exc


def policy_file(policy: Policy, *, format: str = "yaml") -> tuple[str, str]:
    """The policy as file text and a file name, e.g. ``("name: ...", "four-fifths.yaml")``."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in policy.name).strip("-") or "policy"
    return dump_policy(policy, format=format), f"{stem}.{'json' if format == 'json' else 'yaml'}"


def stored_policy(data: Mapping[str, Any] | None) -> Policy | None:
    """The policy kept in the browser state (its ``to_dict()``), or None when none was chosen."""
    if not data:
        return None
    from auditapp.policy.criteria import policy_from_dict

    return policy_from_dict(data)


def verdict_mark(verdict: str) -> str:
    """Icon and word of a verdict, e.g. ``"✔ PASS"`` (reads without colour)."""
    icon, word, _css = BOARD[verdict]
    return f"{icon} {word}"


def criterion_rows(evaluation: PolicyEvaluation) -> list[dict[str, Any]]:
    """Per criterion: its worst verdict, role, bound in words and how many groups got each verdict."""
    rows = []
    by_name = {c.name: c for c in evaluation.policy.criteria}
    for name, row in evaluation.summary().iterrows():
        rows.append({"criterion": str(name), "verdict": str(row["verdict"]),
                     "mark": verdict_mark(row["verdict"]), "role": "required" if row["required"] else "monitored",
                     "bound": bound_in_units(by_name[name]),
                     "counts": f"{int(row['pass'])} pass · {int(row['fail'])} fail · "
                               f"{int(row['inconclusive'])} inconclusive · {int(row['not_evaluable'])} not "
                               "evaluable"})
    return rows


def bound_in_units(criterion: Criterion) -> str:
    """The bounds in the unit the board shows its numbers in: "at least 0.8", "at most 10 pp", "at least 80%"."""
    unit = " pp" if criterion.measure == "difference" else ""
    low, high = criterion.at_least, criterion.at_most

    def show(x):
        return exact(x, criterion.measure) + unit

    if low is not None and high is not None:
        return f"between {show(low)} and {show(high)}"
    return f"at least {show(low)}" if low is not None else f"at most {show(high)}"


def board_rows(evaluation: PolicyEvaluation) -> list[dict[str, Any]]:
    """One row of text per verdict (criterion × group), for the board's table.

    Values are formatted in the criterion's unit: rates as percentages, differences in signed
    percentage points, ratios with two decimals, each with more digits where fewer would put it on
    the wrong side of a bound (``auditapp.policy.verdict_format``); an interval reads "a to b" ("" without one).
    """
    level = f"{evaluation.confidence * 100:g}%"
    rows = []
    for v in evaluation.verdicts:
        c = v.criterion
        fmt = formatter(c.measure, (c.at_least, c.at_most))
        unit = " pp" if c.measure == "difference" else ""
        has_ci = not (math.isnan(v.low) or math.isnan(v.high))
        group = v.group or ""
        if c.scope == "spread" and v.group is not None:
            group = f"lowest {v.group}, highest {v.compared_with}"
        rows.append({
            "criterion": c.name, "role": "required" if c.required else "monitored",
            "grouping": v.grouping, "group": group,
            "compared_with": "" if c.scope == "spread" else (v.compared_with or ""),
            "verdict": v.verdict, "mark": verdict_mark(v.verdict),
            "value": "" if math.isnan(v.value) else fmt(v.value) + unit,
            "ci": f"{fmt(v.low)} to {fmt(v.high)}{unit}" if has_ci else "",
            "count": int(v.count), "bound": bound_in_units(c), "reason": v.reason, "level": level,
        })
    return rows


# verdict -> inline style (the report's colours: Okabe–Ito borders, dark text on a light tint).
VERDICT_STYLE: dict[str, dict[str, str]] = {
    "pass": {"color": "#00603f", "backgroundColor": "#e6f6f0", "borderColor": "#009E73"},
    "fail": {"color": "#8a3300", "backgroundColor": "#fbebe0", "borderColor": "#D55E00"},
    "inconclusive": {"color": "#6b4a00", "backgroundColor": "#fdf3dc", "borderColor": "#E69F00"},
    "not_evaluable": {"color": "#444444", "backgroundColor": "#f2f2f2", "borderColor": "#888888"},
}
