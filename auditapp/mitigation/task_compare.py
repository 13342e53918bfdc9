"""Mitigations of a regression or multiclass model, compared on the same held-out rows (``auditapp mitigate
--task``).

The rows are split once (seeded, stratified by group × outcome band for a regression, group × class for a
multiclass model); every candidate refits a clone of the model on the training part (in the model file's
sandbox when it is a file) and is audited on the test part:

- regression (:mod:`auditapp.mitigation.regression`): ``unmitigated``, ``reweighing`` (by outcome quartile),
  ``correlation_remover``, ``bounded_group_loss`` (``ExponentiatedGradient`` with ``BoundedGroupLoss``),
  ``grid_search`` (``GridSearch`` with the same ``BoundedGroupLoss``: one model); overall
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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.mitigation import regression as reg
from auditapp.mitigation.split import stratified_split

MULTICLASS_CANDIDATES = ("unmitigated", "reweighing", "correlation_remover")
# What an exported model file needs besides its inputs, or how it decides (the manifest's ``how_it_predicts``).
HOW_IT_PREDICTS = {
    "correlation_remover": "It reads each row's group from the group column(s) among its input columns, and removes "
                           "the group's linear signal from the numeric inputs before the model sees them.",
    "bounded_group_loss": "A random mixture of regressors: each row's regressor is drawn, with its weight, by a seeded "
                          "hash of the row's input columns (seed {seed}), so a row gets the same prediction in any "
                          "order or file.",
}
SCHEMA = "auditapp.mitigate-task/1"


@dataclass(frozen=True)
class Fitted:
    """What training the candidates gives back: test predictions, library messages, reasons for failures."""

    predictions: dict[str, np.ndarray]
    messages: dict[str, tuple[str, ...]]
    errors: dict[str, str]
    bound: float | None  # the regression loss bound used by bounded_group_loss
    models: dict[str, Any] = field(default_factory=dict)  # with export: fitted models (skops bytes from a sandbox)


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
    models: dict[str, Any] = field(default_factory=dict)  # with export: candidate -> fitted model (or its bytes)
    test_table: pd.DataFrame | None = None  # the test rows: row label, group, outcome (for the exports)


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
                        upper_bound: float | None = None, seed: int = 0, export: bool = False,
                        G_train: pd.DataFrame | None = None, G_test: pd.DataFrame | None = None,
                        bin_edges: dict[str, list[float]] | None = None, grid_size: int = reg.GRID_SIZE) -> Fitted:
    """Train each candidate (a clone of ``estimator``) on the training rows; predictions for the test rows.

    Runs where the estimator is: in this process for an estimator object, in the sandbox for a model file.
    With ``export``, each candidate's fitted model is kept (``Fitted.models``). ``G_train``/``G_test``: the
    grouping's own columns (binned at ``bin_edges``), which a correlation remover's model reads the group
    from; without them the labels ``a_train``/``a_test`` serve as one column.
    """
    from auditapp.mitigation.library_warnings import captured_warnings

    errors: dict[str, str] = {}
    models: dict[str, Any] = {}
    groups = (reg.GroupColumns(G_train, G_test, dict(bin_edges or {})) if G_train is not None and G_test is not None
              else reg.GroupColumns.of_labels(a_train, a_test, avoid=X_train.columns))
    if task == "regression":
        predictions, messages, bound = reg.fit_regression_candidates(
            estimator, X_train, y_train, a_train, X_test, a_test, candidates=tuple(candidates), loss=loss,
            upper_bound=upper_bound, seed=seed, errors=errors, models=models if export else None, groups=groups,
            grid_size=grid_size)
        return Fitted(predictions, messages, errors, bound, models)
    found: dict[str, np.ndarray] = {}
    notes: dict[str, tuple[str, ...]] = {}
    for name in candidates:
        with captured_warnings() as caught:
            try:
                found[name], model = _fit_multiclass(name, estimator, X_train, y_train, a_train, X_test, a_test,
                                                     groups)
                if export and model is not None:
                    models[name] = model
            except AuditInputError as exc:
                errors[name] = str(exc)
        notes[name] = tuple(caught.messages)
    return Fitted(found, notes, errors, None, models)


def _fit_multiclass(name: str, estimator: Any, X_train: pd.DataFrame, y_train: Any, a_train: Any,
                    X_test: pd.DataFrame, a_test: Any, groups: reg.GroupColumns) -> tuple[np.ndarray, Any]:
    """``(test predictions, fitted model)``: the predictions are the fitted model's."""
    from sklearn.base import clone

    y_train = np.asarray(y_train).astype(str)
    if name == "unmitigated":
        model = clone(estimator).fit(X_train, y_train)
        return np.asarray(model.predict(X_test)).astype(str), model
    if name == "reweighing":
        frame = pd.DataFrame({"a": np.asarray(a_train, dtype=str), "y": y_train})
        p_a = frame["a"].map(frame["a"].value_counts(normalize=True))
        p_y = frame["y"].map(frame["y"].value_counts(normalize=True))
        p_ay = frame.groupby(["a", "y"])["a"].transform("size") / len(frame)
        weights = (p_a * p_y / p_ay).to_numpy(dtype=float)
        model = clone(estimator).fit(X_train, y_train, **{reg.weight_keyword(estimator, name): weights})
        return np.asarray(model.predict(X_test)).astype(str), model
    if name == "correlation_remover":
        # The same remover as for regressions, with the class labels as the outcome.
        predicted, model = reg.fit_correlation_remover(estimator, X_train, y_train, X_test, groups, classifier=True)
        return predicted.astype(str), model
    raise AuditInputError(f"Unknown candidate '{name}' for a multiclass model.")


def compare_task_mitigations(frame: pd.DataFrame, spec: Any, model: Any, *, task: str = "auto", candidates: Any = None,
                             test_size: float = 0.3, loss: str = "square", upper_bound: float | None = None,
                             seed: int | None = None, n_boot: int = 500, grouping: Any = None,
                             test_frame: pd.DataFrame | None = None, export: bool = False,
                             grid_size: int = reg.GRID_SIZE) -> TaskMitigationComparison:
    """Split ``frame``, train every candidate of ``model`` on the training part, compare them on the test part.

    ``grouping``: the sensitive feature(s) whose groups the mitigations treat (default: the first sensitive
    feature alone; several give their intersection). ``test_frame``: the user's own test rows; then every row
    of ``frame`` trains and no split is made. ``export``: keep each candidate's fitted model (its test
    predictions are that model's; ``export_task_candidate`` writes it).

    Raises
    ------
    AuditInputError
        Without a model or with predictions given as a column, for a model that cannot be refitted, for an
        unknown or binary-only candidate, a bad loss or a missing column.
    """
    from auditapp.core.spec import resolved_edges
    from auditapp.core.tasks import detect_task
    from auditapp.mitigation.task_models import group_labels as labels_of

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

    # Quantile bins are resolved on the dataset once: the test rows (and an exported model) group the same way.
    edges = {c: [float(e) for e in resolved_edges(frame[c], c, spec.bins[c])] for c in features if c in spec.bins}

    def group_labels(table: pd.DataFrame) -> np.ndarray:
        return labels_of(table, features, edges)

    def outcomes(table: pd.DataFrame, what: str) -> np.ndarray:
        if choice.task == "regression":
            from auditapp.core.tasks import numeric_target

            return numeric_target(table[spec.target], what=what)
        result: np.ndarray = table[spec.target].astype(str).to_numpy()
        return result

    groups, y = group_labels(frame), outcomes(frame, "target")
    X = frame.loc[:, list(model.feature_names)]
    if test_frame is None:
        band = (pd.qcut(pd.Series(y), 4, labels=False, duplicates="drop").astype(str).to_numpy()
                if choice.task == "regression" else y)
        train, test = stratified_split(np.char.add(np.char.add(groups.astype(str), "|"), band.astype(str)),
                                       test_size=test_size, seed=seed)
        X_train, y_train, g_train = X.iloc[train], y[train], groups[train]
        X_test, y_test, g_test = X.iloc[test], y[test], groups[test]
        G_train, G_test = frame.iloc[train].loc[:, list(features)], frame.iloc[test].loc[:, list(features)]
        split_note = (f"{len(train):,} training and {len(test):,} test rows (seed {seed}), split within each "
                      f"group × {'outcome quartile' if choice.task == 'regression' else 'class'}.")
    else:
        X_train, y_train, g_train = X, y, groups
        X_test = test_frame.loc[:, list(model.feature_names)]
        G_train, G_test = frame.loc[:, list(features)], test_frame.loc[:, list(features)]
        y_test, g_test = outcomes(test_frame, "target (test table)"), group_labels(test_frame)
        split_note = (f"trained on all {len(frame):,} rows of the dataset, compared on the {len(test_frame):,} "
                      "rows of the test table (no split).")
    args = {"task": choice.task, "X_train": X_train, "y_train": y_train, "a_train": g_train,
            "X_test": X_test, "a_test": g_test, "candidates": list(names), "loss": loss,
            "upper_bound": upper_bound, "seed": seed, "export": bool(export),
            "G_train": G_train.reset_index(drop=True), "G_test": G_test.reset_index(drop=True), "bin_edges": edges,
            "grid_size": int(grid_size)}
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
        bounded = [n for n in ("bounded_group_loss", "grid_search") if n in fitted.predictions]
        if fitted.bound is not None and bounded:
            notes.append(f"{' and '.join(bounded)} hold each group's {loss} loss at most {fitted.bound:.4g} on the "
                         f"training rows ({source}).")
    else:
        table = _multiclass_table(fitted.predictions, y_test, g_test, spec)
        notes.append("Multiclass: fairlearn's in-processing constraints and ThresholdOptimizer are for yes/no "
                     "decisions; reweighing and CorrelationRemover apply. Class-rate gaps and impact ratios are "
                     "point values (no interval).")
    tested = pd.DataFrame({"row": X_test.index, name: g_test, spec.target: y_test})
    return TaskMitigationComparison(choice.task, table, fitted.predictions, fitted.errors, fitted.messages, name,
                                    len(y_train), len(y_test), seed, loss if choice.task == "regression" else None,
                                    fitted.bound, tuple(notes), "split" if test_frame is None else "test table",
                                    fitted.models, tested)


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


def export_task_candidate(comparison: TaskMitigationComparison, name: str, out_dir: Any) -> dict[str, Any]:
    """Write ``<name>_test_predictions.csv``, ``<name>_manifest.json`` and the candidate's model ``<name>.skops``
    into ``out_dir``; what was written (the JSON ``exports`` entry).

    The CSV holds the test rows (row label, group, outcome) with the candidate's prediction: the numbers the
    comparison shows. Text cells are neutralised against spreadsheet formulas; every file is written whole
    (a temporary name, then renamed).

    Raises
    ------
    AuditInputError
        If the candidate did not train, or ``out_dir`` is a file.
    """
    import json
    from pathlib import Path

    from auditapp.mitigation.export import _write_model, neutralised

    if name not in comparison.predictions:
        reason = comparison.errors.get(name, "it was not run")
        raise AuditInputError(f"The candidate '{name}' has no predictions to export ({reason}).")
    if comparison.test_table is None:
        raise AuditInputError("This comparison kept no test rows to export.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AuditInputError(f"The export path {out} is a file, not a folder. Give a folder to write into.")
    out.mkdir(parents=True, exist_ok=True)

    def write_whole(path: Path, write: Any) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        write(tmp)
        tmp.replace(path)

    table = comparison.test_table.assign(prediction=comparison.predictions[name])
    predictions_path = out / f"{name}_test_predictions.csv"
    write_whole(predictions_path, lambda p: neutralised(table).to_csv(p, index=False))
    model = comparison.models.get(name)
    sha: str | None = None
    columns: list[str] = []
    model_path: Path | None = None
    if model is not None:
        model_path = out / f"{name}.skops"
        sha, columns = _write_model(model, model_path)
    note = None if model is not None else "its fitted model could not be saved as a skops file"
    how = HOW_IT_PREDICTS.get(name, "").format(seed=comparison.seed)
    manifest = {"schema": SCHEMA, "task": comparison.task, "candidate": name,
                "model_file": None if model_path is None else model_path.name, "model_sha256": sha,
                "model_note": None if note is None else f"No model file: {note}. Its test predictions are exported.",
                "input_columns": columns,
                "predicts": "the outcome's amount" if comparison.task == "regression" else "one of the classes",
                "how_it_predicts": how or None,
                "grouping": comparison.grouping, "test_rows": comparison.test_rows,
                "test_source": comparison.test_source, "seed": comparison.seed}
    manifest_path = out / f"{name}_manifest.json"
    write_whole(manifest_path, lambda p: p.write_text(json.dumps(manifest, indent=2), encoding="utf-8"))
    return {"model": None if model_path is None else str(model_path), "predictions": str(predictions_path),
            "manifest": str(manifest_path), "model_sha256": sha, "note": manifest["model_note"]}
