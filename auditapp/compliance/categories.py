"""The categories NYC Local Law 144 audits report on, and the mapping of a dataset's values onto them.

Sex: Male, Female. Race/ethnicity: the EEO-1 Component 1 categories (Hispanic or Latino; and, not
Hispanic or Latino, White, Black or African American, Native Hawaiian or Pacific Islander, Asian,
Native American or Alaska Native, Two or More Races). Values already spelled as a category name (any
case, surrounding spaces ignored) need no mapping; ``Unknown`` (and a missing cell) is the unknown
category, counted and reported but left out of the rates. Every other value must be mapped; a value the
mapping does not cover is an error that lists it, or, when the caller asks for it, counted as unknown and
listed in the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from auditapp.core.errors import AuditInputError

SEX = ("Male", "Female")
RACE_ETHNICITY = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Pacific Islander",
    "Asian",
    "Native American or Alaska Native",
    "Two or More Races",
)
UNKNOWN = "Unknown"
FAMILIES = {"sex": SEX, "race_ethnicity": RACE_ETHNICITY}
FAMILY_LABELS = {"sex": "Sex", "race_ethnicity": "Race/ethnicity", "intersectional": "Intersectional"}
# The EEO-1 form's own spelling of one category; accepted as the same category without a mapping.
ALIASES = {"american indian or alaska native": "Native American or Alaska Native"}
UNMAPPED_TREATMENTS = ("error", "unknown")
MAX_LISTED = 20


def _key(value: Any) -> str:
    return str(value).strip().casefold()


@dataclass(frozen=True)
class MappedColumn:
    """One column's values as categories.

    ``categories`` holds a category name or ``Unknown`` per row; ``unmapped`` the raw values the
    mapping did not cover (with their row counts), counted as unknown when the treatment allows it.
    """

    family: str
    column: str
    categories: pd.Series
    unmapped: tuple[tuple[str, int], ...]
    missing: int


def read_mapping(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a YAML (or JSON) mapping file: ``{sex: {raw: category}, race_ethnicity: {raw: category}}``.

    Raises
    ------
    AuditInputError
        If the file is not YAML, not shaped like a mapping, or maps onto a name that is not a category.
    """
    import yaml

    name = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AuditInputError(f"The mapping file '{name}' is not valid YAML ({exc}).") from exc
    except UnicodeDecodeError as exc:
        raise AuditInputError(f"The mapping file '{name}' is not UTF-8 text.") from exc
    return check_mapping(data, source=f"the mapping file '{name}'")


def check_mapping(data: Any, *, source: str = "the mapping") -> dict[str, dict[str, str]]:
    """Validate a mapping given as plain data and return it with canonical category names."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise AuditInputError(f"{source[0].upper()}{source[1:]} must map 'sex' and/or 'race_ethnicity' to "
                              f"{{value: category}} tables; found a {type(data).__name__}.")
    out: dict[str, dict[str, str]] = {}
    for family, table in data.items():
        if family not in FAMILIES:
            raise AuditInputError(f"{source[0].upper()}{source[1:]} has a section '{family}'; the sections "
                                  "are 'sex' and 'race_ethnicity'.")
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise AuditInputError(f"The '{family}' section of {source} must be a table of value: category.")
        allowed = {_key(c): c for c in (*FAMILIES[family], UNKNOWN)}
        allowed.update({k: v for k, v in ALIASES.items() if v in FAMILIES[family]})
        out[family] = {}
        for raw, category in table.items():
            target = allowed.get(_key(category)) if category is not None else UNKNOWN
            if target is None:
                raise AuditInputError(
                    f"In {source}, '{raw}' is mapped to '{category}', which is not a {family} category. "
                    f"Use one of: {', '.join((*FAMILIES[family], UNKNOWN))}.")
            out[family][str(raw).strip()] = target
    return out


def map_column(values: pd.Series, family: str, mapping: Mapping[str, str] | None = None, *,
               unmapped: str = "error") -> MappedColumn:
    """Map a column's values onto the family's categories.

    Parameters
    ----------
    values : pandas.Series
        The raw column.
    family : {"sex", "race_ethnicity"}
    mapping : mapping of str to str, optional
        Raw value (as text, surrounding spaces ignored) to category name (or ``Unknown``); checked by
        :func:`check_mapping`.
    unmapped : {"error", "unknown"}
        What a value that is neither a category name nor in the mapping does: raise, or count as
        unknown (listed in ``MappedColumn.unmapped``).

    Raises
    ------
    AuditInputError
        If a value is not covered and ``unmapped`` is "error".
    """
    if unmapped not in UNMAPPED_TREATMENTS:
        raise AuditInputError(f"unmapped must be one of {', '.join(UNMAPPED_TREATMENTS)}, not '{unmapped}'.")
    named = {_key(c): c for c in (*FAMILIES[family], UNKNOWN)}
    named.update({k: v for k, v in ALIASES.items() if v in FAMILIES[family]})
    explicit = {str(k).strip(): v for k, v in (mapping or {}).items()}
    present = values.notna()
    text = values[present].astype(str).str.strip()
    distinct = pd.unique(text)
    lookup: dict[str, str | None] = {}
    for raw in distinct:
        lookup[raw] = explicit.get(raw) or named.get(raw.casefold())
    missing_values = [raw for raw, target in lookup.items() if target is None]
    counts = text.value_counts()
    listed = tuple((raw, int(counts[raw])) for raw in sorted(missing_values, key=lambda r: (-counts[r], r)))
    if listed and unmapped == "error":
        shown = ", ".join(f"'{raw}' ({n} rows)" for raw, n in listed[:MAX_LISTED])
        more = f" and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED else ""
        raise AuditInputError(
            f"The column '{values.name}' has values the {family.replace('_', '/')} mapping does not cover: "
            f"{shown}{more}. Map each to one of {', '.join((*FAMILIES[family], UNKNOWN))} (in the app, or in "
            "the --mapping file), or choose to count unmapped values as unknown.")
    categories = pd.Series(UNKNOWN, index=values.index, dtype=object)
    categories[present] = text.map(lambda raw: lookup[raw] or UNKNOWN).to_numpy()
    return MappedColumn(family=family, column=str(values.name), categories=categories, unmapped=listed,
                        missing=int((~present).sum()))


def value_suggestions(values: pd.Series, family: str, limit: int = 200) -> list[dict[str, Any]]:
    """The column's distinct values with their row counts and the category each maps to by name (or None).

    Used by the app's mapping table; at most ``limit`` values (the most frequent).
    """
    named = {_key(c): c for c in (*FAMILIES[family], UNKNOWN)}
    named.update({k: v for k, v in ALIASES.items() if v in FAMILIES[family]})
    counts = values.dropna().astype(str).str.strip().value_counts()
    return [{"value": str(raw), "rows": int(n), "category": named.get(str(raw).casefold())}
            for raw, n in counts.head(limit).items()]
