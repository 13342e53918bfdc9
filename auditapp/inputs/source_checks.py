"""Checks of an audit's choices that its numbers would not reveal, said as notices (never silently).

- Predictions that equal the outcome in more than 99% of rows: usually an outcome column copied from
  the predictions (or the prediction column chosen as the outcome's twin), which makes every error
  rate 0 and every error-rate check pass.
- A numeric sensitive feature with many distinct values audited value by value: dozens of tiny
  groups whose numbers mean little (bin it instead).

Nothing here imports :mod:`auditapp.core.spec`; ``spec`` is any object with its fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

AGREEMENT_LIMIT = 0.99  # predictions equal to the outcome in more than this share of rows: warn
MANY_VALUES = 12  # a numeric sensitive feature with more distinct values than this needs bins


def agreement_notice(y_true: np.ndarray, y_pred: np.ndarray, *, target: str, source: str) -> str | None:
    """A warning when the decisions equal the outcome in more than 99% of rows, else None.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
        The outcome and the decisions, row by row.
    target : str
        The outcome column's name.
    source : str
        Where the decisions come from, in words (e.g. "the prediction column 'predicted'").
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if not len(y_true):
        return None
    same = int(np.count_nonzero(y_true == y_pred))
    if same <= AGREEMENT_LIMIT * len(y_true):
        return None
    share = "every" if same == len(y_true) else f"{same:,} of {len(y_true):,}"
    return (f"The predictions equal the outcome '{target}' in {share} rows ({_share(same, len(y_true))}). "
            f"Check that '{target}' holds what really happened and {source} what the model decided: an "
            "outcome copied from the predictions makes every error rate 0 and every error-rate check pass.")


def _share(part: int, whole: int) -> str:
    """A share that never rounds up to 100% when it is not (99.96% reads "99.96%", not "100.0%")."""
    for digits in (1, 2, 3, 4):
        text = f"{100 * part / whole:.{digits}f}"
        if part == whole or float(text) < 100:
            return f"{text}%"
    return f"{100 * part / whole:.6f}%"


def many_valued(frame: pd.DataFrame, columns: Iterable[str]) -> dict[str, int]:
    """The numeric columns among ``columns`` with more than ``MANY_VALUES`` distinct values, and how many."""
    out = {}
    for name in columns:
        if name not in frame.columns:
            continue
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            continue
        distinct = int(column.nunique(dropna=True))
        if distinct > MANY_VALUES:
            out[str(name)] = distinct
    return out


def many_values_notices(frame: pd.DataFrame, sensitive: Iterable[str], bins: Mapping[str, Any]) -> list[str]:
    """One notice per numeric sensitive feature audited value by value although it has many values."""
    unbinned = [s for s in sensitive if s not in bins]
    return [f"'{name}' is a number with {count:,} distinct values and is not binned, so every value is a group "
            f"of its own (many of them tiny). Bin it, e.g. --bins {name}=q4 (quartiles) or edges such as "
            f"--bins {name}=20,30,40,50,60,70."
            for name, count in many_valued(frame, unbinned).items()]


def _source_words(spec: Any) -> str:
    if spec.prediction is not None:
        return f"the prediction column '{spec.prediction}'"
    if spec.score is not None:
        return f"the score column '{spec.score}'"
    return "the model"


def source_notices(frame: pd.DataFrame, spec: Any, y_true: np.ndarray, y_pred: np.ndarray) -> list[str]:
    """The notices of this module for one prepared audit (see the module docstring)."""
    notices = []
    agreement = agreement_notice(y_true, y_pred, target=spec.target, source=_source_words(spec))
    if agreement:
        notices.append(agreement)
    notices.extend(many_values_notices(frame, spec.sensitive, spec.bins))
    return notices
