"""NYC Local Law 144 bias audit (6 RCNY §5-301): selection or scoring rates and impact ratios.

Selection tools: ``SR_c = selected_c / n_c``; scoring tools: with ``m`` the median score of the sample,
``ScR_c = #{i in c: score_i > m} / n_c``; in both, ``IR_c = rate_c / max_k rate_k`` within the family
(sex, race/ethnicity, or sex × race/ethnicity). Tools that classify into groups get these tables per
class. Rows in the unknown category are counted and reported and left out of the rates and ratios. A
category under a chosen share of the data may be excluded from the impact ratios; it is still listed
with its n, its rate and the reason. The rule sets no pass/fail threshold: nothing here judges.

Choices the rule leaves open are options, with defaults, recorded in the result:

- ``ties``: "not_above" (default; the rule's "above the median" read strictly: a score equal to the
  median is not above it) or "above" (a score equal to the median counts as above);
- ``median_sample``: "all" (default; "the median score for the full sample of applicants", unknown
  rows included) or "known" (rows whose sex and race/ethnicity are both known);
- ``exclude_under``: None (default: nothing excluded) or a share such as 0.02, of all rows.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditapp.compliance.categories import (
    FAMILIES,
    RACE_ETHNICITY,
    SEX,
    UNKNOWN,
    MappedColumn,
    check_mapping,
    map_column,
)
from auditapp.core.errors import AuditInputError

TIES = ("not_above", "above")
MEDIAN_SAMPLES = ("all", "known")
TABLES = ("sex", "race_ethnicity", "intersectional")
# Intersectional category name -> (sex, race/ethnicity), in the order the tables list them.
_PARTS = {f"{r} {s}": (s, r) for r in RACE_ETHNICITY for s in SEX}
_YES = {"1", "1.0", "true", "yes", "y", "selected", "pass", "passed", "hired", "advanced"}
_NO = {"0", "0.0", "false", "no", "n", "not selected", "rejected", "fail", "failed"}


@dataclass(frozen=True)
class CategoryRow:
    """One category of one table: its n, count selected (or scored above the median), rate, ratio."""

    table: str
    category: str
    n: int
    selected: int
    rate: float | None
    impact_ratio: float | None
    excluded: bool
    reason: str
    cls: str | None = None
    sex: str | None = None
    race_ethnicity: str | None = None


@dataclass(frozen=True)
class LL144Result:
    """The bias audit: every table's rows, the unknown counts and the choices made."""

    type: str  # "selection", "scoring" or "classification"
    rows: tuple[CategoryRow, ...]
    n_rows: int
    median: float | None
    ties_at_median: int
    unknown: dict[str, Any]
    choices: dict[str, Any]
    columns: dict[str, str]
    mapping: dict[str, dict[str, str]]
    audit_date: str
    data_source: str | None
    distribution_date: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def classes(self) -> list[str | None]:
        """The classes of a classification tool (``[None]`` otherwise), in order."""
        return list(dict.fromkeys(r.cls for r in self.rows))

    def table(self, name: str, cls: str | None = None) -> list[CategoryRow]:
        """The rows of one table (and class)."""
        return [r for r in self.rows if r.table == name and r.cls == cls]


def _selected_flags(values: pd.Series, selected_value: Any,
                    classify: bool) -> tuple[str, dict[str | None, np.ndarray]]:
    """``("selection", {None: flags})`` or ``("classification", {class: flags})``."""
    name = values.name
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())[:5].tolist()
        raise AuditInputError(
            f"The column '{name}' has {int(values.isna().sum())} empty cells (first rows {rows}); every "
            "assessed person needs the tool's outcome. Fill them in or remove those rows from the file.")
    text = values.astype(str).str.strip()
    distinct = sorted(pd.unique(text).tolist())
    if selected_value is not None:
        wanted = str(selected_value).strip()
        if wanted not in distinct:
            raise AuditInputError(f"No row of '{name}' has the value '{wanted}' (values: "
                                  f"{', '.join(distinct[:10])}). Give the value that means selected.")
        return "selection", {None: (text == wanted).to_numpy()}
    if classify or len(distinct) > 2:
        if len(distinct) > 50:
            raise AuditInputError(f"The column '{name}' has {len(distinct)} distinct values: too many classes "
                                  "for a classification tool. Give the value that means selected.")
        classes: dict[str | None, np.ndarray] = {c: (text == c).to_numpy() for c in distinct}
        return "classification", classes
    lowered = {v.casefold() for v in distinct}
    yes = [v for v in distinct if v.casefold() in _YES]
    if len(yes) == 1 and lowered - {yes[0].casefold()} <= _NO:
        return "selection", {None: (text == yes[0]).to_numpy()}
    raise AuditInputError(
        f"Cannot tell which value of '{name}' means selected (values: {', '.join(distinct)}). Give it "
        "(--selected-value in the CLI), or treat the tool as a classifier (--classify).")


def _scores(values: pd.Series) -> np.ndarray:
    name = values.name
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        examples = ", ".join(repr(str(v)) for v in values[bad].unique()[:5])
        raise AuditInputError(f"The score column '{name}' has {int(bad.sum())} values that are not numbers "
                              f"({examples}). Give a numeric score column.")
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())[:5].tolist()
        raise AuditInputError(
            f"The score column '{name}' has {int(values.isna().sum())} empty cells (first rows {rows}). "
            "Every assessed person needs a score: fill them in or remove those rows from the file.")
    out: np.ndarray = np.asarray(numbers.to_numpy(dtype=np.float64), dtype=np.float64)
    if not np.isfinite(out).all():
        raise AuditInputError(f"The score column '{name}' has infinite values; give finite scores.")
    return out


def _rows_for(table: str, groups: pd.Series, flags: np.ndarray, order: list[str], *, n_all: int,
              exclude_under: float | None, cls: str | None) -> list[CategoryRow]:
    """Rates and impact ratios of one table, one row per category in ``order`` (unknown rows left out)."""
    index = {category: i for i, category in enumerate(order)}
    codes = groups.map(lambda v: index.get(v, -1)).to_numpy(dtype=np.int64)
    known = codes >= 0
    n = np.bincount(codes[known], minlength=len(order))
    sel = np.bincount(codes[known], weights=flags[known].astype(np.float64), minlength=len(order)).astype(np.int64)
    excluded = np.zeros(len(order), dtype=bool)
    if exclude_under is not None and n_all:
        excluded = (n > 0) & (n < exclude_under * n_all)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, sel / np.maximum(n, 1), np.nan)
    eligible = (n > 0) & ~excluded
    best = float(rate[eligible].max()) if eligible.any() else float("nan")
    rows = []
    for i, category in enumerate(order):
        label = category
        extra = dict(zip(("sex", "race_ethnicity"), _PARTS[category], strict=True)) if category in _PARTS else {}
        r = None if n[i] == 0 else float(rate[i])
        if n[i] == 0:
            ir, reason = None, "no one in this category"
        elif excluded[i]:
            ir = None
            reason = (f"excluded from the impact ratios: {n[i]} of {n_all} rows ({100 * n[i] / n_all:.2f}%) is "
                      f"under {100 * (exclude_under or 0.0):g}% of the data (the auditor's choice under 6 RCNY §5-301)")
        elif not best > 0:
            ir, reason = None, "no category has a positive rate, so impact ratios are undefined"
        else:
            ir, reason = float(rate[i] / best), ""
        rows.append(CategoryRow(table=table, category=label, n=int(n[i]), selected=int(sel[i]), rate=r,
                                impact_ratio=ir, excluded=bool(excluded[i]), reason=reason, cls=cls, **extra))
    return rows


def ll144_audit(frame: pd.DataFrame, *, sex: str, race: str, selected: str | None = None,
                score: str | None = None, mapping: Mapping[str, Mapping[str, str]] | None = None,
                unmapped: str = "error", selected_value: Any = None, classify: bool = False,
                ties: str = "not_above", median_sample: str = "all", exclude_under: float | None = None,
                audit_date: str | None = None, data_source: str | None = None,
                distribution_date: str | None = None) -> LL144Result:
    """Compute the NYC Local Law 144 bias-audit tables.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per assessed person.
    sex, race : str
        Columns holding sex and race/ethnicity (mapped onto the rule's categories).
    selected, score : str
        Exactly one: the tool's selection (or classification) column, or its score column.
    mapping : mapping, optional
        ``{"sex": {raw: category}, "race_ethnicity": {raw: category}}``.
    unmapped : {"error", "unknown"}
        What a value that no mapping covers does (see :mod:`auditapp.compliance.categories`).
    selected_value : optional
        The value of ``selected`` that means selected (found from 1/true/yes... when omitted).
    classify : bool
        Treat ``selected`` as a classification into groups: one set of tables per class.
    ties, median_sample, exclude_under
        The open choices (module docstring).
    audit_date, data_source, distribution_date : str, optional
        For the summary the rule requires (``audit_date`` defaults to today, UTC).

    Raises
    ------
    AuditInputError
        For a missing column, an unmapped value, an empty or non-numeric score, an unknown choice.
    """
    if (selected is None) == (score is None):
        raise AuditInputError("Give exactly one of a selection column and a score column.")
    if ties not in TIES:
        raise AuditInputError(f"ties must be one of {', '.join(TIES)}, not '{ties}'.")
    if median_sample not in MEDIAN_SAMPLES:
        raise AuditInputError(f"median_sample must be one of {', '.join(MEDIAN_SAMPLES)}, not '{median_sample}'.")
    if exclude_under is not None and not 0 < exclude_under < 1:
        raise AuditInputError(f"The exclusion share must be between 0 and 1 (e.g. 0.02 for 2%), not {exclude_under}.")
    outcome = selected if selected is not None else str(score)
    for role, column in (("sex", sex), ("race/ethnicity", race), ("outcome", outcome)):
        if column not in frame.columns:
            raise AuditInputError(f"The {role} column '{column}' is not in the data (columns: "
                                  f"{', '.join(map(str, list(frame.columns)[:20]))}).")
    if len(frame) == 0:
        raise AuditInputError("The data has no rows.")
    mapping = check_mapping(dict(mapping or {}))
    mapped = {"sex": map_column(frame[sex], "sex", mapping.get("sex"), unmapped=unmapped),
              "race_ethnicity": map_column(frame[race], "race_ethnicity", mapping.get("race_ethnicity"),
                                           unmapped=unmapped)}
    sex_cat, race_cat = mapped["sex"].categories, mapped["race_ethnicity"].categories
    both_known = (sex_cat != UNKNOWN) & (race_cat != UNKNOWN)
    median, tied, notes = None, 0, []
    if score is not None:
        values = _scores(frame[score])
        sample = values if median_sample == "all" else values[both_known.to_numpy()]
        if sample.size == 0:
            raise AuditInputError("No row has both sex and race/ethnicity known, so the median of the known "
                                  "rows is undefined; use the median of all rows.")
        median = float(np.median(sample))
        tied = int((values == median).sum())
        flags: dict[str | None, np.ndarray] = {None: values >= median if ties == "above" else values > median}
        kind = "scoring"
        if tied:
            notes.append(f"{tied} rows score exactly the median ({median:g}); they count as "
                         f"{'above' if ties == 'above' else 'not above'} it (choice: ties={ties}).")
    else:
        kind, flags = _selected_flags(frame[selected], selected_value, classify)
    n_all = int(len(frame))
    inter = (race_cat + " " + sex_cat).where(both_known, None)
    order_inter = list(_PARTS)
    rows: list[CategoryRow] = []
    for cls, f in flags.items():
        rows += _rows_for("sex", sex_cat, f, list(SEX), n_all=n_all, exclude_under=exclude_under, cls=cls)
        rows += _rows_for("race_ethnicity", race_cat, f, list(RACE_ETHNICITY), n_all=n_all,
                          exclude_under=exclude_under, cls=cls)
        rows += _rows_for("intersectional", inter, f, order_inter, n_all=n_all, exclude_under=exclude_under,
                          cls=cls)
    unknown = _unknown(mapped, sex_cat, race_cat)
    for info in mapped.values():
        if info.unmapped:
            listed = ", ".join(f"'{v}' ({n})" for v, n in info.unmapped[:10])
            notes.append(f"Values of '{info.column}' no mapping covers were counted as unknown: {listed}.")
    choices = {"ties": ties if score is not None else None, "median_sample": median_sample if score is not None
               else None, "exclude_under": exclude_under, "exclude_under_of": "all rows", "unmapped": unmapped,
               "selected_value": None if selected_value is None else str(selected_value), "classify": bool(classify)}
    columns = {"sex": sex, "race_ethnicity": race, ("score" if score is not None else "selected"): outcome}
    return LL144Result(type=kind, rows=tuple(rows), n_rows=n_all, median=median, ties_at_median=tied,
                       unknown=unknown, choices=choices, columns=columns, mapping=mapping,
                       audit_date=audit_date or _dt.datetime.now(_dt.UTC).date().isoformat(),
                       data_source=data_source or None, distribution_date=distribution_date or None,
                       notes=tuple(notes))


def _unknown(mapped: dict[str, MappedColumn], sex_cat: pd.Series, race_cat: pd.Series) -> dict[str, Any]:
    sex_unknown, race_unknown = sex_cat == UNKNOWN, race_cat == UNKNOWN
    return {
        "count": int((sex_unknown | race_unknown).sum()),
        "sex": int(sex_unknown.sum()), "race_ethnicity": int(race_unknown.sum()),
        "intersectional": int((sex_unknown | race_unknown).sum()),
        "missing_cells": {f: m.missing for f, m in mapped.items()},
        "unmapped_values": {f: [{"value": v, "rows": n} for v, n in m.unmapped] for f, m in mapped.items()},
    }


def families() -> dict[str, tuple[str, ...]]:
    """The families and their categories (for forms)."""
    return dict(FAMILIES)
