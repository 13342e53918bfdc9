"""Explanations of a regression model, or of one class of a multiclass classifier: the same computation the
binary explanation runs (:func:`auditapp.explain.core.explain_model`), on another output.

- Regression: the model's prediction, in the outcome's units. Tree ensembles and linear models are explained
  exactly on their final step (a pipeline's encoded columns summed back to the dataset's columns); any other
  regressor by permutation Shapley values. ``base + Σ attributions == prediction`` for every row.
- Multiclass: the probability of the class the user chose (``target_class``: never guessed; every class
  is one run), by permutation Shapley values.

Importance overall and by group (with bootstrap intervals over the seeded stratified sample), the gap in
mean output between each group and its reference split into feature contributions (they sum to the gap),
proxy features and one row's explanation: as for yes/no decisions. The groups and their references are the
task audit's (:func:`auditapp.core.task_audit.run_task_audit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.explain.attribution import Grouping, attribute, local_explanation
from auditapp.explain.core import Explanation, _explain_in_chunks
from auditapp.explain.explainers import build_explainer
from auditapp.explain.proxies import detect_proxies
from auditapp.explain.sampling import stratified_sample

Progress = Callable[[float, str], None]
_REFERENCE_REPLICATES = 100  # the task audit is run for its groups and references only


def explain_task_model(frame: pd.DataFrame, spec: Any, model: Any, *, task: str = "auto", target_class: Any = None,
                       rows_per_group: int = 1000, seed: int | None = None, n_boot: int = 200,
                       proxy_threshold: float = 0.7, row: Any = None, agnostic_rows_per_group: int = 100,
                       progress: Progress | None = None) -> Explanation:
    """Explain a regressor's predictions or one class's probability of a multiclass classifier.

    Parameters are those of :func:`auditapp.explain.core.explain_model`, plus ``task`` (``auto``,
    ``regression`` or ``multiclass``) and ``target_class`` (multiclass only: the class whose probability is
    explained).

    Raises
    ------
    AuditInputError
        Without a model; for a binary task (use ``explain_model``); for a multiclass model without
        ``target_class`` or with one it does not predict (the message lists its classes); for a regression
        given a class; for a missing column.
    """
    from threadpoolctl import threadpool_limits

    from auditapp.core.task_audit import run_task_audit

    report = progress or (lambda fraction, message: None)
    if model is None:
        raise AuditInputError(
            "Explanations need the model itself: give the model file (.skops or .onnx). Predictions given as a "
            "column are enough for the audit, not for explanations.")
    if spec.prediction is not None:
        raise AuditInputError("Explain the model's own output: give --model without --prediction.")
    seed = spec.seed if seed is None else int(seed)
    report(0.0, "Checking the data against the model")
    audit = run_task_audit(frame, spec, model, task=task, n_boot=_REFERENCE_REPLICATES)
    positive = _output_class(audit.task, model, target_class)
    groupings = [Grouping(g.features, g.reference) for g in audit.result.groupings]
    sensitive = audit.sensitive_features
    with threadpool_limits(limits=1):
        report(0.05, "Preparing the explainer")
        explainer = build_explainer(model, frame, positive, seed=seed)
        if explainer.method == "permutation":
            rows_per_group = min(rows_per_group, max(10, int(agnostic_rows_per_group)))
        sample = stratified_sample(sensitive, rows_per_group=rows_per_group, seed=seed)
        report(0.1, f"Computing SHAP values for {sample.n_rows:,} sampled rows")
        values = _explain_in_chunks(explainer, frame.iloc[sample.positions], report, 0.1, 0.7)
        report(0.7, "Importance by group and gap attribution")
        attributions = attribute(values, sample, groupings, n_boot=n_boot, confidence=spec.confidence, seed=seed)
        report(0.75, "Looking for proxy features")
        proxies = detect_proxies(frame, sensitive, features=list(model.feature_names), threshold=proxy_threshold,
                                 seed=seed)
        report(0.95, "Explaining one row")
        chosen = frame.index[sample.positions[0]] if row is None else row
        local = local_explanation(explainer, frame, chosen)
    output = "its predicted value" if positive is None else f"the probability of class '{positive}'"
    if positive is not None:  # one class of several: not "the favourable class"
        name = f"probability of class {positive}"
        values = replace(values, output_name=name)
        local = None if local is None else replace(local, output_space=name)
    notices = [f"Task: {audit.task}; explained: {output}.", *proxies.notices]
    if explainer.method == "permutation":
        notices.append(
            f"The model is explained as a black box (permutation Shapley values of {output}, "
            f"{explainer.n_permutations} orderings per row against {len(explainer.background)} background rows, "
            f"at most {sample.rows_per_group} rows per group), which is slower and approximate; base + "
            "attributions still equals the output exactly.")
    report(1.0, "Done")
    return Explanation(shap=values, sensitive=sensitive.iloc[sample.positions], sample=sample,
                       attributions=attributions, proxies=proxies, local=local, explainer=explainer,
                       notices=tuple(notices))


def _output_class(task: str, model: Any, target_class: Any) -> Any:
    """None for a regression (its prediction is explained); the model's class for a multiclass one."""
    classes = [str(c) for c in getattr(model, "classes", ()) or ()]
    if task == "regression":
        if target_class is not None:
            raise AuditInputError("A regression model has no classes: drop --class (its prediction is explained).")
        if classes:
            raise AuditInputError(
                f"The model is a classifier (classes {', '.join(classes[:10])}), not a regressor: explain it "
                "with --task multiclass --class C, or as a yes/no decision.")
        return None
    if task != "multiclass":
        raise AuditInputError("This is a yes/no (binary) task: explain it with explain_model.")
    if target_class is None:
        raise AuditInputError(
            f"Choose the class to explain (--class): the model predicts {', '.join(classes[:20])}. Each class's "
            "probability is explained on its own.")
    matches = [c for c in getattr(model, "classes", ()) if str(c) == str(target_class)]
    if not matches:
        raise AuditInputError(f"'{target_class}' is not a class of the model; it predicts {', '.join(classes[:20])}.")
    return matches[0]
