"""The Compliance page's forms as plain data: guesses, mapping tables, and form -> pack results.

Pure functions of a DataFrame and a form dict (what the browser sends), so the callbacks stay thin and
everything here is testable without Dash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditapp.compliance.categories import FAMILIES, UNKNOWN, value_suggestions
from auditapp.core.errors import AuditInputError

if TYPE_CHECKING:  # the packs are imported when a form runs them
    from auditapp.compliance.bisg import RaceEstimates
    from auditapp.compliance.fair_lending import FairLendingResult
    from auditapp.compliance.ll144 import LL144Result
    from auditapp.compliance.uniform_guidelines import AdverseImpact

_GUESSES = {"sex": ("sex", "gender"), "race": ("race_ethnicity", "race", "ethnicity"),
            "score": ("score", "y_score", "probability", "risk_score"),
            "selected": ("selected", "hired", "prediction", "decision", "pred", "approved"),
            "surname": ("surname", "last_name", "lastname", "family_name", "last"),
            "zip": ("zip", "zipcode", "zip_code", "zcta", "postal_code", "zip5"),
            "first_name": ("first_name", "firstname", "given_name", "first")}


def guess_column(columns: Sequence[str], role: str) -> str | None:
    """A column whose name looks like ``role`` (exact name first, then a word of the name)."""
    lowered = {str(c).lower().strip(): c for c in columns}
    for name in _GUESSES[role]:
        if name in lowered:
            return lowered[name]
    for name in _GUESSES[role]:
        for low, original in lowered.items():
            if len(name) > 2 and re.search(rf"(^|_){re.escape(name)}($|_)", low):
                return original
    return None


def form_guesses(frame: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, Any]:
    """First choices for the page's dropdowns, from the audit settings and the column names."""
    from auditapp.compliance.bisg import PROBABILITY_COLUMNS

    columns = [str(c) for c in frame.columns]
    score = spec.get("score") if spec.get("score") in columns else guess_column(columns, "score")
    selected = spec.get("prediction") if spec.get("prediction") in columns else guess_column(columns, "selected")
    sensitive = [s for s in spec.get("sensitive") or [] if s in columns]
    has_bisg = all(c in columns for c in PROBABILITY_COLUMNS.values())
    group = sensitive[0] if sensitive else guess_column(columns, "sex")
    return {"kind": "score" if score and not selected else "selection", "outcome": selected or score,
            "sex": guess_column(columns, "sex"), "race": guess_column(columns, "race"), "selected": selected,
            "group": group, "fl_group": BISG_CHOICE if has_bisg else group, "has_bisg": has_bisg}


def has_race_column(columns: Sequence[str]) -> bool:
    """Whether the data already has a race or ethnicity column (then BISG is not offered first)."""
    return guess_column(columns, "race") is not None


def mapping_rows(frame: pd.DataFrame, column: str | None, family: str) -> list[dict[str, Any]]:
    """One row per distinct value of ``column``: value, rows, and the category it maps to by name."""
    if not column or column not in frame.columns:
        return []
    return [dict(r, category=r["category"] or "") for r in value_suggestions(frame[column], family)]


def mapping_from_rows(sex_rows: Sequence[Mapping[str, Any]] | None,
                      race_rows: Sequence[Mapping[str, Any]] | None) -> dict[str, dict[str, str]]:
    """The mapping the grids describe (rows left blank stay unmapped)."""
    out: dict[str, dict[str, str]] = {}
    for family, rows in (("sex", sex_rows), ("race_ethnicity", race_rows)):
        chosen = {str(r["value"]): str(r["category"]) for r in rows or () if r.get("category")}
        if chosen:
            out[family] = chosen
    return out


def category_choices(family: str) -> list[str]:
    """What a value can be mapped to in the grid."""
    return [*FAMILIES[family], UNKNOWN]


def _share(percent: object) -> float | None:
    if percent in (None, ""):
        return None
    try:
        value = float(percent)  # type: ignore[arg-type]  # any text from the form: refused below if not a number
    except (TypeError, ValueError) as exc:
        raise AuditInputError(f"The exclusion share must be a number of percent (e.g. 2), not '{percent}'.") from exc
    if not 0 < value < 100:
        raise AuditInputError(f"The exclusion share must be between 0 and 100 percent, not {value:g}.")
    return value / 100


def ll144_from_form(frame: pd.DataFrame, form: Mapping[str, Any]) -> LL144Result:
    """Run the LL144 audit the form describes (``kind`` "selection"/"score", ``outcome``, ``sex``, ``race``…)."""
    from auditapp.compliance.ll144 import ll144_audit

    missing = [label for key, label in (("outcome", "the tool's output column"), ("sex", "the sex column"),
                                        ("race", "the race/ethnicity column")) if not form.get(key)]
    if missing:
        raise AuditInputError(f"Choose {', '.join(missing)} first.")
    score = form["outcome"] if form.get("kind") == "score" else None
    return ll144_audit(
        frame, sex=form["sex"], race=form["race"], score=score, selected=None if score else form["outcome"],
        mapping=form.get("mapping") or {}, unmapped="unknown" if form.get("unmapped_as_unknown") else "error",
        selected_value=form.get("selected_value") or None, ties=form.get("ties") or "not_above",
        median_sample=form.get("median_sample") or "all", exclude_under=_share(form.get("exclude_under")),
        audit_date=form.get("audit_date") or None, data_source=form.get("data_source") or None,
        distribution_date=form.get("distribution_date") or None)


def _flags(frame: pd.DataFrame, column: str | None, value: object, what: str) -> pd.Series:
    if not column or column not in frame.columns:
        raise AuditInputError(f"Choose the {what} column first.")
    values = frame[column]
    if value not in (None, ""):
        text = values.astype(str).str.strip()
        if not (text == str(value)).any():
            raise AuditInputError(f"No row of '{column}' has the value '{value}'.")
        return (text == str(value)).astype(int)
    return values


def adverse_impact_from_form(frame: pd.DataFrame, form: Mapping[str, Any]) -> AdverseImpact:
    """The Uniform Guidelines pack: ``selected``, ``selected_value``, ``group``, ``alpha``."""
    from auditapp.compliance.uniform_guidelines import adverse_impact

    flags = _flags(frame, form.get("selected"), form.get("selected_value"), "selection")
    if not form.get("group") or form["group"] not in frame.columns:
        raise AuditInputError("Choose the group column first.")
    return adverse_impact(flags, frame[form["group"]], alpha=float(form.get("alpha") or 0.05))


def adverse_impact_rows(result: AdverseImpact) -> list[dict[str, Any]]:
    """Grid rows, numbers rounded as they are read (the record keeps full precision)."""
    def r(v: float | None, digits: int) -> float | None:
        return None if v is None else round(float(v), digits)

    return [{"group": x.group, "n": x.n, "selected": x.selected, "rate": r(x.rate, 4), "impact_ratio": r(x.impact_ratio, 3),
             "below_0_8": "yes" if x.below_four_fifths else "", "fisher_p": r(x.fisher_p, 4), "z": r(x.z, 2),
             "z_p": r(x.z_p, 4), "flips_fisher": x.flips_fisher, "flips_z": x.flips_z,
             "flips_to_0_8": x.flips_to_four_fifths, "shortfall": r(x.shortfall, 1),
             "highest": "highest rate" if x.is_highest else ""} for x in result.rows]


def fair_lending_from_form(frame: pd.DataFrame, form: Mapping[str, Any], *, n_boot: int = 500) -> FairLendingResult:
    """The fair-lending pack: ``approved``, ``approved_value``, ``group`` (or "bisg"), ``control``,
    ``value``, ``segment``."""
    from auditapp.compliance.fair_lending import fair_lending

    flags = _flags(frame, form.get("approved"), form.get("approved_value"), "approval")
    if not form.get("control"):
        raise AuditInputError("Choose the control group first.")
    membership = groups = None
    if form.get("group") == BISG_CHOICE:
        membership = membership_from(frame)
    elif form.get("group") in frame.columns:
        groups = frame[form["group"]]
    else:
        raise AuditInputError("Choose the group column (or the race probabilities from surname and ZIP) first.")
    return fair_lending(flags, control=str(form["control"]), groups=groups, membership=membership,
                        values=frame[form["value"]] if form.get("value") else None,
                        segments=frame[form["segment"]] if form.get("segment") else None, n_boot=n_boot)


BISG_CHOICE = "__bisg__"


def membership_from(frame: pd.DataFrame) -> pd.DataFrame:
    """The six probability columns BISG added, named by group."""
    from auditapp.compliance.bisg import GROUPS, PROBABILITY_COLUMNS

    missing = [c for c in PROBABILITY_COLUMNS.values() if c not in frame.columns]
    if missing:
        raise AuditInputError("This dataset has no race probabilities (p_hispanic … p_multiple): add them from "
                              "surname and ZIP on the Data & model page, or with `auditapp infer-race`.")
    return frame[list(PROBABILITY_COLUMNS.values())].set_axis(list(GROUPS.values()), axis=1)


def control_options(frame: pd.DataFrame, group: str | None) -> list[str]:
    """The control-group choices for a group column (or the BISG groups)."""
    if group == BISG_CHOICE:
        from auditapp.compliance.bisg import GROUPS

        return list(GROUPS.values())
    if not group or group not in frame.columns:
        return []
    return sorted(map(str, pd.unique(frame[group].dropna().astype(str))))[:200]


def table_rows(table: pd.DataFrame, digits: int = 3) -> list[dict[str, Any]]:
    """A result table as grid rows (floats rounded for reading, NaN as empty)."""
    out = []
    for record in table.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and np.isnan(v) else
                        round(v, digits) if isinstance(v, float) else v.item() if hasattr(v, "item") else v)
                    for k, v in record.items()})
    return out


def with_race_probabilities(frame: pd.DataFrame, surname: str, zip_column: str,
                            first_name: str | None = None) -> tuple[pd.DataFrame, RaceEstimates]:
    """``(frame with the probability and matching columns added, RaceEstimates)``."""
    from auditapp.compliance.bisg import infer_race

    for column in (surname, zip_column, first_name):
        if column is not None and column not in frame.columns:
            raise AuditInputError(f"The column '{column}' is not in the data.")
    estimates = infer_race(frame[surname], frame[zip_column],
                           first_names=frame[first_name] if first_name else None)
    added = estimates.output_frame()
    clash = [c for c in added.columns if c in frame.columns]
    if clash:
        raise AuditInputError(f"The data already has columns named {', '.join(clash)}: race probabilities were "
                              "added before, or those names are taken; rename them first.")
    return frame.reset_index(drop=True).join(added.reset_index(drop=True)), estimates


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet (types kept: ZIP keys stay text with their leading zeros)."""
    import io

    import pyarrow

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except (pyarrow.ArrowException, TypeError, ValueError):
        # Columns of mixed types (numbers and text): kept as text, missing cells still missing.
        mixed = {c: frame[c].map(lambda v: v if v is None or v != v else str(v))
                 for c in frame.columns if frame[c].dtype == object}
        buffer = io.BytesIO()
        frame.assign(**mixed).to_parquet(buffer, index=False)
    return buffer.getvalue()
