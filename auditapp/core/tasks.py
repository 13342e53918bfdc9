"""Which kind of model is audited: ``binary``, ``multiclass`` or ``regression``, said or detected.

``--task auto`` decides from the target column and the model, and never guesses: a target with at most two
values is binary (as every audit was before tasks existed), unless the model is a regressor; a text target
with more values is multiclass; a numeric target with
fractional values or more than ``MAX_CLASSES`` distinct values is regression; a regressor (a model without
classes) means regression, a classifier's classes say binary or multiclass. Anything else (for instance a
target with 3 to ``MAX_CLASSES`` whole numbers and no model) is ambiguous: :class:`AuditInputError` asks the
user to say ``--task``. The checks of a stated task against its data live here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

__all__ = ["TASKS", "MAX_CLASSES", "TaskChoice", "detect_task", "numeric_target", "check_classes"]

TASKS = ("auto", "binary", "multiclass", "regression")
MAX_CLASSES = 20


@dataclass(frozen=True)
class TaskChoice:
    """The task and why it was chosen (shown to the user and written to the record)."""

    task: str
    reason: str


def _examples(values: Sequence[Any] | np.ndarray) -> str:
    return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in list(values)[:5])


def _model_kind(model: Any) -> tuple[str | None, tuple[Any, ...]]:
    """("classifier", classes) / ("regressor", ()) / (None, ()) for no model."""
    if model is None:
        return None, ()
    classes = getattr(model, "classes", None)
    if classes is None:
        classes = getattr(model, "classes_", None)
    if classes is None or len(classes) == 0:
        return "regressor", ()
    return "classifier", tuple(np.asarray(classes).tolist())


def detect_task(target: pd.Series, *, model: Any = None, requested: str = "auto") -> TaskChoice:
    """The audit's task: ``requested`` when it is not ``auto`` (checked), else detected.

    Parameters
    ----------
    target : pandas.Series
        The true outcomes, named after their column.
    model : AuditModel or estimator, optional
        A model with ``classes`` (or ``classes_``) is a classifier; one without is a regressor.
    requested : {"auto", "binary", "multiclass", "regression"}

    Raises
    ------
    AuditInputError
        For an unknown task, a task the target or model contradicts, or (``auto``) when the data do not
        say which task it is.
    """
    name = str(target.name)
    if requested not in TASKS:
        raise AuditInputError(f"Unknown task '{requested}'. Use one of: {', '.join(TASKS)}.")
    kind, classes = _model_kind(model)
    present = target.dropna()
    distinct = pd.unique(present)
    numeric = pd.api.types.is_numeric_dtype(present.dtype) and not pd.api.types.is_bool_dtype(present.dtype)
    if requested == "regression":
        numeric_target(target)
        if kind == "classifier":
            raise AuditInputError(
                f"--task regression needs a model that predicts amounts, but the model is a classifier with classes "
                f"{_examples(classes)}. Pass the regressor, or --task binary/multiclass for this classifier.")
        return TaskChoice("regression", "stated (--task regression)")
    if requested in ("binary", "multiclass"):
        if kind == "regressor":
            raise AuditInputError(
                f"--task {requested} needs a classifier, but the model has no classes (it is a regressor). Pass "
                "--task regression, or the classifier.")
        return TaskChoice(requested, f"stated (--task {requested})")
    if kind == "regressor":
        numeric_target(target)
        return TaskChoice("regression", "the model is a regressor (it predicts amounts, not classes)")
    if len(distinct) <= 2:  # two outcomes: the binary audit, as before tasks existed (whatever the model)
        return TaskChoice("binary", f"the target '{name}' has {len(distinct)} distinct values")
    if kind == "classifier":
        task = "binary" if len(classes) <= 2 else "multiclass"
        return TaskChoice(task, f"the model is a classifier with {len(classes)} classes ({_examples(classes)})")
    if not numeric:
        if len(distinct) <= MAX_CLASSES:
            return TaskChoice("multiclass", f"the target '{name}' has {len(distinct)} text values (classes)")
        raise AuditInputError(
            f"The target '{name}' has {len(distinct):,} distinct text values (e.g. {_examples(distinct)}): too many "
            f"classes for a multiclass audit (at most {MAX_CLASSES}) and not numbers for a regression. Choose "
            "another target column or group its values.")
    values = present.to_numpy(dtype=np.float64)
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if not whole or len(distinct) > MAX_CLASSES:
        why = "fractional values" if not whole else f"{len(distinct):,} distinct values"
        return TaskChoice("regression", f"the target '{name}' is numeric with {why}")
    raise AuditInputError(
        f"The target '{name}' has {len(distinct)} distinct whole numbers ({_examples(np.sort(distinct))}): they "
        "could be classes or amounts. Say which: --task multiclass (each value is a class) or --task regression "
        "(the values are quantities).")


def numeric_target(values: pd.Series, *, what: str = "target") -> np.ndarray:
    """The values of a regression column as float64; AuditInputError naming the column and its bad values."""
    name = str(values.name)
    if pd.api.types.is_bool_dtype(values.dtype):
        raise AuditInputError(f"The {what} '{name}' holds true/false values, not amounts. Use --task binary.")
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        shown = pd.unique(values[bad])
        raise AuditInputError(
            f"A regression needs numbers in the {what} '{name}', but {int(bad.sum()):,} rows hold text such as "
            f"{_examples(shown)}. Fix or remove those rows, or use --task binary/multiclass for labels.")
    missing = int(values.isna().sum())
    if missing:
        first = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise AuditInputError(
            f"The {what} '{name}' has {missing:,} missing values (first at row {first + 1}). Fill or remove those "
            "rows: a row without its value cannot be scored.")
    out = converted.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(out)):
        bad_rows = np.flatnonzero(~np.isfinite(out))
        raise AuditInputError(
            f"The {what} '{name}' has {bad_rows.size:,} infinite values (first at row {int(bad_rows[0]) + 1}). "
            "Fix or remove those rows.")
    result: np.ndarray = out
    return result


def check_classes(y_true: pd.Series, y_pred: pd.Series, model_classes: tuple[Any, ...] = ()) -> tuple[str, ...]:
    """The classes of a multiclass audit (sorted as text), checked against the model's classes.

    Raises AuditInputError naming the target values that the model never predicts, or missing values.
    """
    for series in (y_true, y_pred):
        if series.isna().any():
            first = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise AuditInputError(
                f"The column '{series.name}' has {int(series.isna().sum()):,} missing values (first at row "
                f"{first + 1}). Fill or remove those rows.")
    truth = [str(v) for v in pd.unique(y_true)]
    if model_classes:
        known = [str(c) for c in model_classes]
        unknown = sorted(set(truth) - set(known))
        if unknown:
            raise AuditInputError(
                f"The target '{y_true.name}' has values {', '.join(unknown[:10])} that are not classes of the model, "
                f"which predicts {', '.join(known[:20])}. Map the target to the model's class labels.")
        classes = known
    else:
        classes = sorted(set(truth) | {str(v) for v in pd.unique(y_pred)})
    if len(classes) > MAX_CLASSES:
        raise AuditInputError(
            f"The columns '{y_true.name}' and '{y_pred.name}' hold {len(classes)} classes; at most {MAX_CLASSES} "
            "can be audited class by class. Group the classes first.")
    return tuple(classes)
