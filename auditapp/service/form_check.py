"""Is the Data & model form ready to run, and if not, what is missing or wrong (in words)?

The page keeps Run audit disabled until the user has chosen the outcome column, its favourable value,
where the predictions come from and at least one sensitive feature, none of which is guessed; it
refuses choices that cannot give a meaningful audit (the outcome chosen as the prediction or score
column, or as a sensitive feature) and asks for bins for numeric sensitive features with many values.
The same refusals hold in the library (:class:`auditapp.core.spec.AuditSpec`) and the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.inputs.source_checks import agreement_notice, many_valued

_SOURCE_WORDS = {"prediction": "the prediction column", "score": "the score column"}


@dataclass(frozen=True)
class FormCheck:
    """What stands between the form and an audit.

    ``missing`` lists the choices still to make, ``problems`` the choices that cannot be audited,
    ``warnings`` what looks wrong but may be right, and ``bins_needed`` the numeric sensitive features
    with many values (feature → number of distinct values) that need bins first.
    """

    missing: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    bins_needed: Mapping[str, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether Run audit may run."""
        return not (self.missing or self.problems or self.bins_needed)

    def sentence(self) -> str:
        """One line for the page: what is left to do, or that the audit can run."""
        if self.missing:
            items = list(self.missing)
            listed = items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
            return f"To run the audit, choose {listed}."
        if self.bins_needed:
            names = ", ".join(f"'{n}'" for n in self.bins_needed)
            return f"To run the audit, choose bins for {names} (below the sensitive features)."
        if self.problems:
            return "To run the audit, fix what is marked in red."
        return "Ready: press Run audit."


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def check_form(frame: pd.DataFrame, form: Mapping[str, Any], *, has_model: bool) -> FormCheck:
    """Check the form's choices against the dataset (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset.
    form : mapping
        ``target``, ``favorable``, ``source`` ("model", "prediction" or "score"), ``prediction``,
        ``score``, ``threshold``, ``sensitive`` (list) and ``bins`` (text such as ``"age=q4"``).
    has_model : bool
        Whether a model file is loaded.
    """
    target, source = form.get("target"), form.get("source")
    sensitive = [s for s in form.get("sensitive") or [] if s]
    missing, problems, warnings = [], [], []
    if not _given(target):
        missing.append("the outcome column")
    elif target in frame.columns and (other := _other_task(frame[target])):
        problems.append(other)
    elif not _given(form.get("favorable")):
        missing.append(f"the favourable value of '{target}'")
    if not source:
        missing.append("where the predictions come from")
    elif source in _SOURCE_WORDS and not _given(form.get(source)):
        missing.append(_SOURCE_WORDS[source])
    elif source == "model" and not has_model:
        problems.append("There is no model: upload one, or choose a prediction or score column.")
    if not sensitive:
        missing.append("at least one sensitive feature")
    column = form.get(source) if source in _SOURCE_WORDS else None
    if _given(target) and column == target and source in _SOURCE_WORDS:
        problems.append(f"'{target}' cannot be both the outcome and {_SOURCE_WORDS[source]}: the outcome is "
                        "what really happened, the prediction what the model said. Choose the column with the "
                        "true outcome.")
    if _given(target) and target in sensitive:
        problems.append(f"'{target}' is the outcome; it cannot also be a sensitive feature.")
    try:
        from auditapp.service.forms import parse_bins

        bins = parse_bins(form.get("bins"))
    except AuditInputError as exc:
        problems.append(str(exc))
        bins = {}
    stray = [name for name in bins if name not in sensitive]
    if stray:
        problems.append(f"Bins are given for {', '.join(map(repr, stray))}, which is not a sensitive feature. "
                        "Add it to the sensitive features or remove its bins.")
    needed = many_valued(frame, [s for s in sensitive if s not in bins])
    if not (missing or problems) and source in _SOURCE_WORDS:
        problems, warnings = _check_columns(frame, form, bins, problems)
    return FormCheck(tuple(missing), tuple(problems), tuple(warnings), needed)


def _other_task(target: pd.Series) -> str | None:
    """Why ``target`` is not a yes/no outcome (amounts, several classes, or unclear which), else None."""
    from auditapp.core.tasks import detect_task

    if target.dropna().nunique() <= 2:
        return None
    where = ("This page audits yes/no decisions: audit it on the Amounts & classes page, or choose an outcome "
             "with two values.")
    try:
        choice = detect_task(target)
    except AuditInputError as exc:  # e.g. a few whole numbers: classes or amounts? The user says which there.
        text = str(exc).split(" Say which:")[0]
        return (f"{text} This page audits yes/no decisions: audit it on the Amounts & classes page, where you say "
                "whether they are classes or amounts, or choose an outcome with two values.")
    kind = "amounts (a regression)" if choice.task == "regression" else "several classes (a multiclass model)"
    return f"'{target.name}' looks like {kind}: {choice.reason}. {where}"


def _check_columns(frame: pd.DataFrame, form: Mapping[str, Any], bins, problems: list[str]):
    """Read the outcome and the decisions as the audit will: their errors, and the agreement warning."""
    from auditapp.core.spec import AuditSpec, _labels, _predictions_from_column, _scores_from_column

    source = form["source"]
    try:
        threshold = form.get("threshold")
        spec = AuditSpec(target=form["target"], favorable=form["favorable"], sensitive=tuple(form["sensitive"]),
                         prediction=form.get("prediction") if source == "prediction" else None,
                         score=form.get("score") if source == "score" else None,
                         threshold=float(threshold) if threshold is not None and _given(threshold) else None,
                         bins=bins)
        y_true = _labels(frame, spec)
        if source == "prediction":
            y_pred = _predictions_from_column(frame, spec)
        else:
            scores = _scores_from_column(frame, spec)
            y_pred = (scores >= (0.5 if spec.threshold is None else spec.threshold)).astype(np.int8)
    except (AuditInputError, TypeError, ValueError) as exc:
        return [*problems, str(exc)], []
    notice = agreement_notice(y_true, y_pred, target=spec.target,
                              source=f"{_SOURCE_WORDS[source]} '{form[source]}'")
    return problems, [notice] if notice else []
