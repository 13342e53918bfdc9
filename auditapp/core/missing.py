"""Which cells of a table are missing: empty cells, and only the words the user maps to missing.

pandas reads "None", "NA", "null", "N/A", "n/a", "nan" and a dozen other words as missing by default, which
silently merged a real category "None" or "NA" (a nationality, an answer, an initial) with empty cells.
The rule here, the same for CSV and Parquet:

- an empty cell is missing (in Parquet: a null);
- in a text column every other value is a category, those words included; the user can list words that
  mean missing (CLI ``--missing-values``, the app's "Read as missing" field), and they become missing in
  every column;
- in a column whose every other value is a number, those words cannot be numbers, so they are read as
  missing (as before) and the column stays numeric.

Every change is listed in a notice: what was read as missing, and which missing-looking words were kept
as categories (so nobody has to guess).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from auditapp.core.errors import AuditInputError

# pandas' default missing-value words (pandas._libs.parsers.STR_NA_VALUES without the empty string).
NA_WORDS = (
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
)
MAX_WORDS = 50
MAX_WORD_LENGTH = 100
MAX_LISTED = 12


def parse_missing_values(values: str | Iterable[str] | None) -> tuple[str, ...]:
    """The words that mean missing, from ``"None, NA"`` or a list; duplicates dropped, order kept.

    Raises
    ------
    AuditInputError
        For more than 50 words, a word longer than 100 characters, or a word that is a control character.
    """
    if values is None:
        return ()
    items = values.split(",") if isinstance(values, str) else [str(v) for v in values]
    words = tuple(dict.fromkeys(w.strip() for w in items if w.strip()))
    if len(words) > MAX_WORDS:
        raise AuditInputError(f"{len(words)} words are listed as missing; at most {MAX_WORDS} are allowed. "
                              "List only the words that mean 'no value' in your data, e.g. None, NA.")
    for word in words:
        if len(word) > MAX_WORD_LENGTH or not word.isprintable():
            raise AuditInputError(
                f"The missing-value word {word[:40]!r} is too long or has control characters. List short "
                "words separated by commas, e.g. None, NA, null.")
    return words


def _is_text(column: pd.Series) -> bool:
    result: bool = pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)
    return result


def _counts(column: pd.Series, words: Sequence[str]) -> dict[str, int]:
    hits = column[column.isin(list(words))]
    return {str(k): int(v) for k, v in hits.value_counts(sort=False).items()} if len(hits) else {}


def _listed(counts: dict[str, int]) -> str:
    return ", ".join(f"{word!r} ×{n:,}" for word, n in counts.items())


def settle_missing(frame: pd.DataFrame, name: str, missing_values: Sequence[str] = (), *,
                   numbers_from_text: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Apply the missing-value rule to a table read with only empty cells as missing.

    ``numbers_from_text`` (CSV) reads the missing-looking words of a column of numbers as missing; a
    Parquet file's text columns are text by its own schema, so there they stay categories.
    Returns the table (columns changed only where words became missing) and the notices.
    """
    words = tuple(missing_values)
    read_missing: list[str] = []
    kept: list[str] = []
    changed: dict[str, pd.Series] = {}
    for column_name, column in frame.items():
        label = repr(str(column_name))
        empty = int(column.isna().sum())
        parts = [f"{empty:,} empty" if empty else ""]
        if not _is_text(column):
            if empty:
                read_missing.append(f"{label} {parts[0]}")
            continue
        asked = _counts(column, words) if words else {}
        if asked:
            column = column.where(~column.isin(list(asked)))
            parts.append(f"{_listed(asked)} (listed as missing)")
        found = _counts(column, NA_WORDS)
        numeric = False
        if found and numbers_from_text:
            present = column.notna() & ~column.isin(list(found))
            numbers = pd.to_numeric(column.where(present), errors="coerce")
            numeric = bool(present.any()) and not bool((numbers.isna() & present).any())
            if numeric:
                column = numbers
                parts.append(f"{_listed(found)} (a column of numbers)")
        if found and not numeric:
            kept.append(f"{label} {_listed(found)}")
        if asked or numeric:
            changed[column_name] = column
        described = "; ".join(p for p in parts if p)
        if described:
            read_missing.append(f"{label} {described}")
    if changed:
        frame = frame.copy(deep=False)
        for key, values in changed.items():
            frame[key] = values
    notices = []
    if read_missing:
        notices.append(f"Read as missing in {name}: {_first(read_missing)}.")
    if kept:
        notices.append(
            f"Kept as values, not missing, in {name}: {_first(kept)}. A word like 'None' or 'NA' can be a real "
            "category; if these mean 'no value', list them as missing (the Read as missing field on the Data & "
            "model page, or --missing-values on the command line).")
    return frame, notices


def _first(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    return shown + (f"; and {len(items) - MAX_LISTED} more column(s)" if len(items) > MAX_LISTED else "")
