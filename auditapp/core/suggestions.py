"""Suggestions for a user's own dataset, each with its reason, shown as suggestions and never applied.

Column names and values hint at which column is the outcome, which one holds the predictions or
scores, which value is favourable and which columns are protected attributes. A hint is only a hint:
a file whose columns are ``sex, age, credit_risk, predicted, score_good`` once had ``predicted``
audited as its outcome (every true positive rate 100%, a false PASS). So the Data & model page shows
these as suggestions the user accepts with a click, and nothing runs until the user has chosen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

_TARGET_NAMES = ("hired", "label", "target", "outcome", "y", "y_true", "two_year_recid", "income", "class",
                 "approved", "default", "repaid", "risk", "credit_risk", "admitted", "recid")
_SCORE_NAMES = ("score", "y_score", "probability", "prob", "proba", "risk_score", "predicted_probability")
_PREDICTION_NAMES = ("prediction", "pred", "y_pred", "predicted", "decision")
_SENSITIVE_NAMES = ("sex", "gender", "race", "ethnicity", "age_cat", "age_group", "nationality", "religion",
                    "disability", "marital_status", "age")
_FAVORABLE_WORDS = ("1", "yes", "true", ">50k", "hired", "approved", "repaid", "good", "positive", "granted",
                    "accepted", "admitted")
_NICE_WIDTHS = (1, 2, 2.5, 5)


@dataclass(frozen=True)
class Suggestion:
    """A value for one field of the form, and why it is suggested (one short clause)."""

    value: Any
    reason: str


@dataclass(frozen=True)
class Suggestions:
    """Everything suggested for one dataset (``None`` where nothing stands out)."""

    target: Suggestion | None = None
    source: Suggestion | None = None
    prediction: Suggestion | None = None
    score: Suggestion | None = None
    threshold: Suggestion | None = None
    sensitive: Suggestion | None = None


def _find(columns: Sequence[str], names: tuple[str, ...]) -> str | None:
    lowered = {str(c).lower().strip(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    for name in names:
        for low, original in lowered.items():
            if len(name) > 2 and re.search(rf"(^|_){re.escape(name)}($|_)", low):
                return original
    return None


def _two_valued(frame: pd.DataFrame, column: str) -> bool:
    return int(frame[column].nunique(dropna=True)) == 2


def _numeric(frame: pd.DataFrame, column: str) -> bool:
    values = frame[column]
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def suggest(frame: pd.DataFrame, *, has_model: bool = False) -> Suggestions:
    """What the column names and values suggest for ``frame`` (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        The user's dataset.
    has_model : bool
        Whether a model file is loaded (then "the model" is the suggested prediction source).
    """
    columns = [str(c) for c in frame.columns]
    prediction = _find(columns, _PREDICTION_NAMES)
    score = _find([c for c in columns if _numeric(frame, c) and c != prediction], _SCORE_NAMES)
    sensitive = [c for c in columns if _find([c], _SENSITIVE_NAMES)]
    taken = {prediction, score, *sensitive}
    binary = [c for c in columns if c not in taken and _two_valued(frame, c)]
    target = None
    named = _find(binary, _TARGET_NAMES)
    if named is not None:
        target = Suggestion(named, "named like an outcome, with two values")
    elif len(binary) == 1:
        target = Suggestion(binary[0], "the only column with two values that is not named like a prediction, "
                                       "a score or a protected attribute")
    out: dict[str, Suggestion | None] = {"target": target}
    if prediction is not None and (target is None or prediction != target.value):
        out["prediction"] = Suggestion(prediction, "named like a prediction")
    if score is not None:
        out["score"] = Suggestion(score, "named like a score")
        values = pd.to_numeric(frame[score], errors="coerce")
        if values.min() >= 0 and values.max() <= 1:
            out["threshold"] = Suggestion(0.5, "the scores lie between 0 and 1")
        else:
            out["threshold"] = Suggestion(float(values.median()), "the median score")
    if has_model:
        out["source"] = Suggestion("model", "you loaded a model file")
    elif out.get("prediction"):
        out["source"] = Suggestion("prediction", f"'{prediction}' is named like a prediction")
    elif out.get("score"):
        out["source"] = Suggestion("score", f"'{score}' is named like a score")
    unused = [c for c in sensitive if target is None or c != target.value]
    if unused:
        out["sensitive"] = Suggestion(unused, "named like protected attributes")
    return Suggestions(**out)


def suggest_favorable(values: Sequence[Any]) -> Suggestion | None:
    """The outcome value that reads as favourable (1, yes, hired, good, ...), or None when none does."""
    for word in _FAVORABLE_WORDS:
        for value in values:
            if str(value).strip().lower() == word:
                return Suggestion(value, f"‘{value}’ reads as the favourable outcome")
    return None


def bin_offers(column: pd.Series) -> list[dict[str, str]]:
    """One-click bins for a numeric column: quartiles, and round-width bins (decades for ages).

    Returns
    -------
    list of dict
        ``{"rule": "q4", "label": "Quartiles (4 groups of about equal size)"}`` and, when the range
        allows, ``{"rule": "10,20,...,80", "label": "Decades: 10–20, …, 70–80"}``.
    """
    values = pd.to_numeric(column, errors="coerce").dropna()
    offers = [{"rule": "q4", "label": "Quartiles (4 groups of about equal size)"}]
    if values.empty or values.min() == values.max():
        return offers
    low, high = float(values.min()), float(values.max())
    width = _nice_width(high - low)
    start, stop = math.floor(low / width) * width, math.ceil(high / width) * width
    if stop <= high and stop == start:
        stop += width
    count = round((stop - start) / width)
    edges = [start + i * width for i in range(count + 1)]
    text = ",".join(f"{e:g}" for e in edges)
    what = "Decades" if width == 10 else f"Bins {width:g} wide"
    offers.append({"rule": text, "label": f"{what}: {edges[0]:g}–{edges[1]:g}, …, {edges[-2]:g}–{edges[-1]:g}"})
    return offers


def _nice_width(span: float) -> float:
    """A round bin width (1, 2, 2.5 or 5 times a power of ten) giving 4 to 10 bins over ``span``."""
    power = 10.0 ** math.floor(math.log10(span / 10)) if span > 0 else 1.0
    for scale in (1, 10, 100):
        for step in _NICE_WIDTHS:
            width = step * power * scale
            if span / width <= 10:
                return width
    return span / 4
