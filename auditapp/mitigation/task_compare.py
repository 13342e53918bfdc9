"""Mitigations of a regression or multiclass model, compared on the same held-out rows (``auditapp mitigate
--task``).

The rows are split once (seeded, stratified by group × outcome band for a regression, group × class for a
multiclass model); every candidate refits a clone of the model on the training part (in the model file's
sandbox when it is a file) and is audited on the test part:

- regression (:mod:`auditapp.mitigation.regression`): ``unmitigated``, ``reweighing`` (by outcome quartile),
  ``correlation_remover``, ``bounded_group_loss`` (``ExponentiatedGradient`` with ``BoundedGroupLoss``); overall
  MAE and RMSE, the spread of group MAEs and the largest |SMD|, each with its interval;
- multiclass: ``unmitigated``, ``reweighing`` (Kamiran–Calders weights by group × class) and
  ``correlation_remover``; accuracy with its Wilson interval, and the largest gap in any class's rate between
  groups and the lowest per-class impact ratio (point values: no interval is claimed for a max over classes).
  fairlearn's in-processing constraints and ThresholdOptimizer are defined for binary classification (and
  regression): asked for, they are refused with that reason.

A candidate that cannot be trained (e.g. an estimator without ``sample_weight``) is reported with its reason;
the others still run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.mitigation import regression as reg
from auditapp.mitigation.split import stratified_split

MULTICLASS_CANDIDATES = ("unmitigated", "reweighing", "correlation_remover")
SCHEMA = "auditapp.mitigate-task/1"


@dataclass(frozen=True)
class Fitted:
    """What training the candidates gives back: test predictions, library messages, reasons for failures."""

    predictions: dict[str, np.ndarray]
    messages: dict[str, tuple[str, ...]]
    errors: dict[str, str]
    bound: float | None  # the regression loss bound used by bounded_group_loss


@dataclass(frozen=True)
class TaskMitigationComparison:
    """``table``: one row per candidate that trained (metrics with ``_low``/``_high`` where an interval is
    given); ``errors``: candidate -> why it did not train; ``predictions``: candidate -> test predictions."""

    task: str
    table: pd.DataFrame
    predictions: dict[str, np.ndarray]
    errors: dict[str, str]
    messages: dict[str, tuple[str, ...]]
    grouping: str
    train_rows: int
    test_rows: int
    seed: int
    loss: str | None
    bound: float | None
    notes: tuple[str, ...]
    test_source: str = "split"  # or "test table": the user's own test rows, every dataset row trained


def default_candidates(task: str) -> tuple[str, ...]:
    return reg.CANDIDATES if task == "regression" else MULTICLASS_CANDIDATES


def check_candidates(task: str, candidates: Any) -> tuple[str, ...]:
    """The candidates asked for, checked for the task (unknown ones and binary-only ones refused by name)."""
    names = tuple(candidates) if candidates else default_candidates(task)
    allowed = default_candidates(task)
    for name in names:
        if name in allowed:
            continue
        if task == "multiclass" and name in reg.MULTICLASS_SUPPORT:
            reg.check_multiclass_mitigation(name)  # raises with the reason
        raise AuditInputError(f"Unknown candidate '{name}' for a {task} model. Candidates: {', '.join(allowed)}.")
    return names


def fit_task_candidates(task: str, estimator: Any, X_train: pd.DataFrame, y_train: Any, a_train: Any,
                        X_test: pd.DataFrame, a_test: Any, *, candidates: Any, loss: str = "square",
                        upper_bound: float | None = None, seed: int = 0) -> Fitted:
    """Train each candidate (a clone of ``estimator``) on the training rows; predictions for the test rows.

    Runs where the estimator is: in this process for an estimator object, in the sandbox for a model file.
    """
    from auditapp.mitigation.library_warnings import captured_warnings

    errors: dict[str, str] = {}
    if task == "regression":
        predictions, messages, bound = reg.fit_regression_candidates(
            estimator, X_train, y_train, a_train, X_test, a_test, candidates=tuple(candidates), loss=loss,
            upper_bound=upper_bound, seed=seed, errors=errors)
        return Fitted(predictions, messages, errors, bound)
    found: dict[str, np.ndarray] = {}
    notes: dict[str, tuple[str, ...]] = {}
    for name in candidates:
        with captured_warnings() as caught:
            try:
                found[name] = _fit_multiclass(name, estimator, X_train, y_train, a_train, X_test, a_test)
            except AuditInputError as exc:
                errors[name] = str(exc)
        notes[name] = tuple(caught.messages)
    return Fitted(found, notes, errors, None)


def _fit_multiclass(name: str, estimator: Any, X_train: pd.DataFrame, y_train: Any, a_train: Any,
                    X_test: pd.DataFrame, a_test: Any) -> np.ndarray:
    from sklearn.base import clone

    y_train = np.asarray(y_train).astype(str)
    if name == "unmitigated":
        return np.asarray(clone(estimator).fit(X_train, y_train).predict(X_test)).astype(str)
    if name == "reweighing":
        frame = pd.DataFrame({"a": np.asarray(a_train, dtype=str), "y": y_train})
        p_a = frame["a"].map(frame["a"].value_counts(normalize=True))
        p_y = frame["y"].map(frame["y"].value_counts(normalize=True))
        p_ay = frame.groupby(["a", "y"])["a"].transform("size") / len(frame)
        weights = (p_a * p_y / p_ay).to_numpy(dtype=float)
        model = clone(estimator).fit(X_train, y_train, **{reg.weight_keyword(estimator, name): weights})
        return np.asarray(model.predict(X_test)).astype(str)
    if name == "correlation_remover":
        # The same remover as for regressions, with the class labels as the outcome.
        return np.asarray(reg.fit_predict(name, estimator, None, X_train, y_train, a_train, X_test, a_test,
                                           loss="square", bound=0.0, seed=0)).astype(str)
    raise AuditInputError(f"Unknown candidate '{name}' for a multiclass model.")


def compare_task_mitigations(frame: pd.DataFrame, spec: Any, model: Any, *, task: str = "auto", candidates: Any = None,
                             test_size: float = 0.3, loss: str = "square", upper_bound: float | None = None,
                             seed: int | None = None, n_boot: int = 500, grouping: Any = None,
                             test_frame: pd.DataFrame | None = None) -> TaskMitigationComparison:
    """Split ``frame``, train every candidate of ``model`` on the training part, compare them on the test part.

    ``grouping``: the sensitive feature(s) whose groups the mitigations treat (default: the first sensitive
    feature alone; several give their intersection). ``test_frame``: the user's own test rows; then every row
    of ``frame`` trains and no split is made.

    Raises
    ------
    AuditInputError
        Without a model or with predictions given as a column, for a model that cannot be refitted, for an
        unknown or binary-only candidate, a bad loss or a missing column.
    """
    from auditapp.core.spec import sensitive_frame
    from auditapp.core.tasks import detect_task

    if model is None or spec.prediction is not None:
        raise AuditInputError("Mitigations refit the model: give the model file (--model), not a prediction column.")
    if not getattr(model, "can_refit", False):
        raise AuditInputError(f"The model '{getattr(model, 'name', 'model')}' cannot be refitted (an ONNX graph has "
                              "no training step): mitigations need a scikit-learn model file (.skops).")
    if loss not in ("square", "absolute"):
        raise AuditInputError(f"Unknown loss '{loss}': square or absolute.")
    for column in (spec.target, *spec.sensitive, *model.feature_names):
        if column not in frame.columns:
            raise AuditInputError(f"The column '{column}' is not in the dataset.")
    if test_frame is not None:
        missing = [c for c in dict.fromkeys((spec.target, *spec.sensitive, *model.feature_names))
                   if c not in test_frame.columns]
        if missing:
            raise AuditInputError(f"The test table lacks the column(s) {', '.join(map(str, missing))} that the "
                                  "training table has. Give a test table with the same columns.")
        if len(test_frame) == 0:
            raise AuditInputError("The test table has no rows.")
    choice = detect_task(frame[spec.target], model=model, requested=task)
    if choice.task not in ("regression", "multiclass"):
        raise AuditInputError("This is a yes/no (binary) model: compare its mitigations with compare_mitigations.")
    names = check_candidates(choice.task, candidates)
    seed = spec.seed if seed is None else int(seed)
    features = tuple(grouping) if grouping else (spec.sensitive[0],)
    unknown = [f for f in features if f not in spec.sensitive]
    if unknown:
        raise AuditInputError(f"The grouping {', '.join(unknown)} is not among the sensitive features "
                              f"({', '.join(spec.sensitive)}).")

    def group_labels(table: pd.DataFrame) -> np.ndarray:
        labels = sensitive_frame(table, spec).loc[:, list(features)].astype(str).agg(" × ".join, axis=1)
        return labels.to_numpy()

    def outcomes(table: pd.DataFrame, what: str) -> np.ndarray:
        if choice.task == "regression":
            from auditapp.core.tasks import numeric_target

            return numeric_target(table[spec.target], what=what)
        return table[spec.target].astype(str).to_numpy()

    groups, y = group_labels(frame), outcomes(frame, "target")
    X = frame.loc[:, list(model.feature_names)]
    if test_frame is None:
        band = (pd.qcut(pd.Series(y), 4, labels=False, duplicates="drop").astype(str).to_numpy()
                if choice.task == "regression" else y)
        train, test = stratified_split(np.char.add(np.char.add(groups.astype(str), "|"), band.astype(str)),
                                       test_size=test_size, seed=seed)
        X_train, y_train, g_train = X.iloc[train], y[train], groups[train]
        X_test, y_test, g_test = X.iloc[test], y[test], groups[test]
        split_note = (f"{len(train):,} training and {len(test):,} test rows (seed {seed}), split within each "
                      f"group × {'outcome quartile' if choice.task == 'regression' else 'class'}.")
    else:
        X_train, y_train, g_train = X, y, groups
        X_test = test_frame.loc[:, list(model.feature_names)]
        y_test, g_test = outcomes(test_frame, "target (test table)"), group_labels(test_frame)
        split_note = (f"trained on all {len(frame):,} rows of the dataset, compared on the {len(test_frame):,} "
                      "rows of the test table (no split).")
    args = {"task": choice.task, "X_train": X_train, "y_train": y_train, "a_train": g_train,
            "X_test": X_test, "a_test": g_test, "candidates": list(names), "loss": loss,
            "upper_bound": upper_bound, "seed": seed}
    if getattr(model, "sandboxed", False):
        fitted = Fitted(**model.runner.fit_task_candidates(args))
    else:
        fitted = fit_task_candidates(args.pop("task"), model.estimator, **args)
    name = " × ".join(features)
    notes = [f"Groups of {name}; {split_note}"]
    if choice.task == "regression":
        summary = reg.summarize_regression_candidates(fitted.predictions, fitted.messages, y_test, g_test,
                                                      bound=float(fitted.bound or 0.0), loss=loss, seed=seed,
                                                      n_boot=n_boot)
        table = summary.table
        source = "the bound given" if upper_bound is not None else "the unmitigated model's overall training loss"
        if fitted.bound is not None and "bounded_group_loss" in fitted.predictions:
            notes.append(f"bounded_group_loss holds each group's {loss} loss at most {fitted.bound:.4g} on the "
                         f"training rows ({source}).")
    else:
        table = _multiclass_table(fitted.predictions, y_test, g_test, spec)
        notes.append("Multiclass: fairlearn's in-processing constraints and ThresholdOptimizer are for yes/no "
                     "decisions; reweighing and CorrelationRemover apply. Class-rate gaps and impact ratios are "
                     "point values (no interval).")
    return TaskMitigationComparison(choice.task, table, fitted.predictions, fitted.errors, fitted.messages, name,
                                    len(y_train), len(y_test), seed, loss if choice.task == "regression" else None,
                                    fitted.bound, tuple(notes), "split" if test_frame is None else "test table")


def _multiclass_table(predictions: dict[str, np.ndarray], y_test: np.ndarray, groups: np.ndarray,
                      spec: Any) -> pd.DataFrame:
    from scipy.stats import norm

    from auditapp.core.intervals import wilson
    from auditapp.core.multiclass import compute_multiclass_audit

    z = float(norm.ppf(0.5 + spec.confidence / 2))
    classes = sorted(set(map(str, y_test)))
    rows = {}
    for name, pred in predictions.items():
        correct = int((np.asarray(pred) == y_test).sum())
        low, high = wilson(np.array([correct]), np.array([len(y_test)]), z)
        result = compute_multiclass_audit(y_test, np.asarray(pred), pd.DataFrame({"group": groups}),
                                          classes=sorted(set(classes) | set(map(str, pred))), min_group_size=1,
                                          confidence=spec.confidence)
        criteria = result.groupings[0].criteria["value"]
        rows[name] = {"accuracy": correct / len(y_test), "accuracy_low": float(low[0]), "accuracy_high": float(high[0]),
                      "max_class_rate_gap": float(criteria["max_class_rate_gap"]),
                      "min_impact_ratio": float(criteria["min_impact_ratio"]),
                      "max_tpr_gap": float(criteria["max_tpr_gap"])}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("candidate")


def task_mitigation_record(comparison: TaskMitigationComparison) -> dict[str, Any]:
    """The JSON form (``auditapp mitigate --task`` writes it): one entry per candidate, ``{value, ci}``."""
    from auditapp.reporting.record import clean

    candidates = []
    for name, row in comparison.table.iterrows():
        metrics = {}
        for column in comparison.table.columns:
            if column.endswith(("_low", "_high")):
                continue
            low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
            metrics[column] = {"value": clean(row[column]),
                               "ci": None if low is None else [clean(low), clean(high)]}
        candidates.append({"name": str(name), "metrics": metrics, "warnings": list(comparison.messages.get(name, ()))})
    candidates += [{"name": name, "error": error} for name, error in comparison.errors.items()]
    return {"schema": SCHEMA, "task": comparison.task, "grouping": comparison.grouping,
            "split": {"train_rows": comparison.train_rows, "test_rows": comparison.test_rows, "seed": comparison.seed,
                      "test_source": comparison.test_source},
            "loss": comparison.loss, "upper_bound": clean(comparison.bound), "candidates": candidates,
            "notes": list(comparison.notes)}
