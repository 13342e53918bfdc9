"""The fixed tasks a model process can run: the only things auditapp asks of an untrusted model.

Each task takes the loaded model, plain arguments (tables, arrays, numbers, text) and a progress
callback, and returns JSON values and NumPy arrays: never an object of the model's making. The parent
side of each task is :class:`auditapp.inputs.sandboxed_model.SandboxedModel`.

| task | runs | returns |
| --- | --- | --- |
| (first message) | ``models.load_model`` in this process: allow-list, trust, ONNX checks | description |
| ``predict`` | predicted labels and/or class probabilities | arrays |
| ``explainer`` / ``explain`` | the SHAP explainer auditapp would build, on rows sent | method; SHAP arrays |
| ``fit_candidate`` | one mitigation candidate's training on the split sent (or kept from the last call, by key) | predictions, skops bytes |
| ``fit_task_candidates`` | a regression/multiclass model's candidates on the sent split | test predictions |
| ``model_loop`` | the selective-labels loop retraining clones of the model | per-round rates |
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_EXPLAINERS_KEPT = 4

Progress = Callable[..., None]  # progress(fraction) or progress(fraction, message)


KEPT_CONTEXTS = 1  # one comparison's split at a time: it is sent again when another comparison comes


@dataclass
class LoadedModel:
    """The model this process serves, what it told its parent, and explainers already built."""

    model: Any  # the AuditModel loaded in this process
    info: dict[str, Any]
    explainers: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    contexts: OrderedDict[str, Any] = field(default_factory=OrderedDict)  # mitigation splits, by their key


def preload_scikit_learn() -> None:
    """Import what loading a scikit-learn model (skops or pickle) needs, before the model has arrived."""
    from auditapp.inputs.allowlist import skops_io
    from auditapp.inputs.models import load_model  # noqa: F401 - imported for its own imports

    skops_io()


def load(args: dict[str, Any]) -> LoadedModel:
    """Load the model bytes of the first request (allow-list and trust are checked by ``load_model``)."""
    from auditapp.inputs.intake import Limits
    from auditapp.inputs.models import load_model
    from auditapp.mitigation.learners import final_step

    data = args["data"]
    model = load_model(data, filename=args["name"], trust_pickle=bool(args["trust_pickle"]), sandbox=False,
                       limits=Limits(max_bytes=max(1, len(data))))
    estimator = model.estimator
    info = {
        "format": model.format, "feature_names": list(model.feature_names), "classes": list(model.classes),
        "can_refit": bool(model.can_refit), "has_proba": model.has_proba,
        "kind": type(final_step(estimator)[1]).__name__ if estimator is not None else "ONNX graph",
        "type_name": type(estimator).__name__ if estimator is not None else "ONNX graph",
        "decides_at_random": bool(model.decides_at_random),
    }
    return LoadedModel(model, info)


def predict(state: LoadedModel, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Labels (when asked or when there are no probabilities) and probabilities for ``rows``."""
    rows = args["rows"]
    proba = state.model.predict_proba(rows) if args.get("proba", True) else None
    labels = None
    if args.get("labels", True) or proba is None:
        labels = np.asarray(state.model.predict(rows))
        if labels.dtype.kind == "O":
            labels = labels.astype(str) if all(isinstance(v, str) for v in labels.tolist()) else labels
    return {"labels": labels, "proba": None if proba is None else np.asarray(proba, dtype=np.float64)}


def _explainer(state: LoadedModel, args: dict[str, Any]) -> Any:
    from auditapp.explain.shap_values import explainer_from_backgrounds

    key = str(args["key"])
    if key not in state.explainers:
        state.explainers[key] = explainer_from_backgrounds(
            state.model, args["linear_background"], args["permutation_background"], args["positive_class"],
            background_size=int(args["background_size"]), n_permutations=int(args["n_permutations"]),
            seed=int(args["seed"]))
        while len(state.explainers) > _EXPLAINERS_KEPT:
            state.explainers.popitem(last=False)
    state.explainers.move_to_end(key)
    return state.explainers[key]


def explainer(state: LoadedModel, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Which explainer auditapp chooses for this model and data (``tree``, ``linear``, ``permutation``)."""
    return {"method": _explainer(state, args).method}


def explain(state: LoadedModel, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """SHAP values of ``rows`` in the dataset's columns, with base value, output and its space."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        values = _explainer(state, args).explain(args["rows"])
    return {"values": np.asarray(values.values, dtype=np.float64), "base_value": float(values.base_value),
            "output": np.asarray(values.output, dtype=np.float64), "output_space": values.output_space,
            "method": values.method}


def fit_candidate(state: LoadedModel, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Train one mitigation candidate on the split sent; the model comes back as skops bytes."""
    from threadpoolctl import threadpool_limits

    from auditapp.mitigation.candidates import FITTERS, MitigationContext

    key, sent = args.get("context_key"), args.get("context")
    if sent is None:  # the same split as an earlier candidate of the comparison: kept here
        if not isinstance(key, str) or key not in state.contexts:
            return {"unknown_context": True}
        fields = state.contexts[key]
    else:
        fields = dict(sent)
        if isinstance(key, str):
            state.contexts[key] = fields
            while len(state.contexts) > KEPT_CONTEXTS:
                state.contexts.popitem(last=False)
    ctx = MitigationContext(**fields, estimator=state.model.estimator)
    from auditapp.mitigation.export import decision_text
    from auditapp.mitigation.library_warnings import captured_warnings

    notes: list[str] = []
    captured = captured_warnings()
    with threadpool_limits(limits=1), captured:
        fitter: Callable[..., Any] = FITTERS[args["name"]]
        fitted = fitter(ctx, notes)
    data, columns, decides = None, [], None
    if fitted.model is not None:
        from auditapp.inputs.allowlist import skops_io

        sio = skops_io()

        try:
            data = sio.dumps(fitted.model)
        except Exception as exc:  # noqa: BLE001 - e.g. a trusted pickle holding a class skops cannot save
            fitted.notes.append(f"The fitted model cannot be saved as a skops file ({type(exc).__name__}).")
        columns = [str(c) for c in getattr(fitted.model, "feature_names_in_", [])]
        decides = decision_text(fitted.model)
    y_score = None if fitted.y_score is None else np.asarray(fitted.y_score, dtype=np.float64)
    return {"y_pred": np.asarray(fitted.y_pred).astype(np.int8), "y_score": y_score, "learner": fitted.learner,
            "notes": [str(n) for n in fitted.notes], "needs_sensitive": bool(fitted.needs_sensitive),
            "sensitive_note": str(fitted.sensitive_note), "model": data, "input_columns": columns,
            "randomized": fitted.probabilities is not None, "warnings": [str(w) for w in captured.messages],
            "decides": decides}


def model_loop(state: LoadedModel, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The selective-labels loop with clones of this model; per-round rates by group."""
    from auditapp.feedback.model_loop import ModelLoopParams, loop_records

    params = ModelLoopParams(**args["params"], estimator=state.model.estimator)
    records, names = loop_records(params, seed=args.get("seed"), progress=progress)
    return {"records": records, "names": names}


def fit_task_candidates(state: LoadedModel, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Train a regression or multiclass model's mitigation candidates on the split sent; test predictions."""
    from threadpoolctl import threadpool_limits

    from auditapp.mitigation.task_compare import fit_task_candidates as fit

    sent = dict(args)
    with threadpool_limits(limits=1):
        fitted = fit(sent.pop("task"), state.model.estimator, **sent)
    models, columns = {}, {}
    if fitted.models:  # asked to export: the fitted models as skops files, never objects
        from auditapp.inputs.allowlist import skops_io

        sio = skops_io()

        for name, model in fitted.models.items():
            try:
                models[str(name)] = sio.dumps(model)
            except Exception:  # noqa: BLE001 - e.g. a trusted pickle holding a class skops cannot save
                continue
            columns[str(name)] = [str(c) for c in getattr(model, "feature_names_in_", [])]
    return {"predictions": {str(k): np.asarray(v) for k, v in fitted.predictions.items()},
            "messages": {str(k): [str(m) for m in v] for k, v in fitted.messages.items()},
            "errors": {str(k): str(v) for k, v in fitted.errors.items()},
            "bound": None if fitted.bound is None else float(fitted.bound), "models": models,
            "input_columns": columns}


TASKS = {"predict": predict, "explainer": explainer, "explain": explain, "fit_candidate": fit_candidate,
         "model_loop": model_loop, "fit_task_candidates": fit_task_candidates}
