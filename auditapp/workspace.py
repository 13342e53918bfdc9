"""A user's working state in the app: which dataset and model, which settings, and cached results.

The browser keeps a small ``state`` dict (artifact ids and the spec as plain JSON); these functions turn
it into loaded objects through the artifact store, caching everything expensive by content:
``(dataset sha256, model sha256, spec)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from auditapp.audit import Audit, run_audit
from auditapp.errors import AuditInputError
from auditapp.intake import Dataset, read_table
from auditapp.scores import ThresholdIndex
from auditapp.spec import AuditSpec
from auditapp.store import ArtifactStore
from auditapp.workload import WorkLimits

_TARGET_NAMES = ("hired", "label", "target", "outcome", "y", "y_true", "two_year_recid", "income", "class",
                 "approved", "default", "repaid")
_SCORE_NAMES = ("score", "y_score", "probability", "prob", "proba", "risk_score", "predicted_probability")
_PREDICTION_NAMES = ("prediction", "pred", "y_pred", "predicted", "decision")
_SENSITIVE_NAMES = ("sex", "gender", "race", "ethnicity", "age_cat", "age_group", "nationality", "religion",
                    "disability", "marital_status", "age")
_FAVORABLE_WORDS = ("1", "yes", "true", ">50k", "hired", "approved", "repaid", "good", "positive")


def load_dataset(store: ArtifactStore, token: str, dataset_id: str, *, missing_values=()) -> Dataset:
    """The parsed dataset (parsed once per content and missing-value words, then cached)."""
    from auditapp.missing import parse_missing_values

    info = store.info(token, dataset_id)
    path = store.path(token, dataset_id)
    words = parse_missing_values(missing_values)
    key = ("dataset", info.sha256, *((words,) if words else ()))
    dataset = store.cached(key, lambda: read_table(path, filename=info.name, missing_values=words))
    # Another session may have uploaded the same bytes first, under its own file name.
    return dataset if dataset.name == info.name else dataset.renamed(info.name)


def dataset_for(store: ArtifactStore, token: str, state: dict[str, Any]) -> Dataset:
    """The state's dataset, read with the state's missing-value words (``state["missing_values"]``)."""
    return load_dataset(store, token, state["dataset"], missing_values=state.get("missing_values") or ())


def load_model(store: ArtifactStore, token: str, model_id: str | None, *, trust_pickle: bool = False):
    """The model for an artifact id (or None).

    Uploaded model files run in a sandboxed process kept apart per session (see :mod:`auditapp.sandbox`);
    the built-in scenarios' models, written by auditapp's own code, are opened in this process.
    """
    if not model_id:
        return None
    from auditapp.models import load_model as _load

    info = store.info(token, model_id)
    path = store.path(token, model_id)
    if model_id.startswith("builtin:"):
        return store.cached(("model", info.sha256, trust_pickle, "builtin"),
                            lambda: _load(path, filename=info.name, trust_pickle=trust_pickle, sandbox=False),
                            disk=False)
    scope = session_scope(store, token)
    # The description the sandbox gave at upload: no model process starts until predictions are needed.
    described = info.meta.get("description") if isinstance(info.meta, dict) else None
    return store.cached(("model", info.sha256, trust_pickle, scope),
                        lambda: _load(path, filename=info.name, trust_pickle=trust_pickle, scope=scope,
                                      description=described), disk=False)


def session_scope(store: ArtifactStore, token: str) -> str:
    """A digest of the browser session: model processes serve one session only."""
    import hashlib

    return hashlib.sha256(store.session_id(token).encode()).hexdigest()[:16]


def spec_from_state(state: dict[str, Any]) -> AuditSpec:
    """The ``AuditSpec`` stored in the browser state."""
    if not state or not state.get("spec"):
        raise AuditInputError("Choose a dataset and the audit settings on the Data & model page first.")
    try:
        return AuditSpec.from_dict(state["spec"])
    except TypeError as exc:
        raise AuditInputError(f"The saved settings are not valid ({exc}). Set them again on Data & model.") from exc


def state_key(store: ArtifactStore, token: str, state: dict[str, Any]) -> tuple:
    """The content key of a state: dataset and model hashes plus the spec."""
    dataset = store.info(token, state["dataset"]).sha256
    model = store.info(token, state["model"]).sha256 if state.get("model") else None
    spec = json.dumps(state.get("spec"), sort_keys=True, default=str)
    words = tuple(str(w) for w in state.get("missing_values") or ())
    source = (("source", str(state["source"])),) if state.get("source") else ()
    return (dataset, model, spec, *((words,) if words else ()), *source)


def audit_for(store: ArtifactStore, token: str, state: dict[str, Any], *, trust_pickle: bool = False,
              compute_elsewhere: Callable[[str, dict[str, Any]], bool] | None = None,
              progress: Callable[[float, str], None] | None = None) -> Audit:
    """Run (or fetch from the cache) the audit that ``state`` describes.

    ``compute_elsewhere(token, state)``, when given, is asked first to compute and cache an audit that
    is not cached yet (e.g. in a low-priority helper process); if it returns False the audit is
    computed here. A state opened from a server-side source (``state["source"]``) is audited on the
    whole source through an engine (``auditapp.source_jobs``); ``progress(fraction, text)`` hears from it.
    """
    if not state or not state.get("dataset"):
        raise AuditInputError("No dataset yet: upload one on the Data & model page or pick a scenario.")
    spec = spec_from_state(state)
    key = ("audit", *state_key(store, token, state))
    if compute_elsewhere is not None and store.peek(key) is None:
        compute_elsewhere(token, state)

    def compute() -> Audit:
        model = load_model(store, token, state.get("model"), trust_pickle=trust_pickle)
        if state.get("source"):
            from auditapp.source_jobs import audit_whole_source

            if state.get("missing_values"):
                raise AuditInputError(
                    "Words read as missing apply to uploaded files; a server-side source is read as it is stored "
                    "(empty cells and nulls are missing). Clear “Read as missing” and audit again.")

            return audit_whole_source(state["source"], spec, model, progress=progress)
        dataset = dataset_for(store, token, state)
        return run_audit(dataset.frame, spec, model, limits=WorkLimits.from_env())

    return store.cached(key, compute, token=token)


def threshold_index_for(store: ArtifactStore, token: str, state: dict[str, Any], features: tuple[str, ...],
                        *, trust_pickle: bool = False) -> ThresholdIndex:
    """Per-group sorted scores for the threshold explorer (sorted once, with the audit)."""
    audit = audit_for(store, token, state, trust_pickle=trust_pickle)
    if not audit.has_scores:
        raise AuditInputError(
            "The threshold explorer needs scores: choose a score column or a model that gives probabilities "
            "on the Data & model page.")
    try:
        return audit.threshold_index(tuple(features))
    except KeyError as exc:
        raise AuditInputError(f"The audit has no grouping {' × '.join(features)}. Run the audit again.") from exc


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.lower().strip(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    for name in names:
        for low, original in lowered.items():
            if len(name) > 2 and re.search(rf"(^|_){re.escape(name)}($|_)", low):
                return original
    return None


def guess_favorable(values: list[Any]) -> Any:
    """The value of a binary target that most likely means the favourable outcome."""
    for word in _FAVORABLE_WORDS:
        for value in values:
            if str(value).strip().lower() == word:
                return value
    return values[-1] if values else 1


def suggest_state(dataset: Dataset, dataset_id: str, *, model=None, model_id: str | None = None) -> dict[str, Any]:
    """Sensible defaults: a column named like a label, like a score or prediction, like a protected attribute."""
    frame = dataset.frame
    columns = list(frame.columns)
    target = _find(columns, _TARGET_NAMES)
    if target is None:
        binary = [c for c in columns if frame[c].nunique(dropna=True) == 2]
        target = binary[-1] if binary else columns[-1]
    values = sorted(pd.unique(frame[target].dropna()).tolist(), key=str)
    spec: dict[str, Any] = {"target": target, "favorable": guess_favorable(values)}
    if model is None:
        score = _find([c for c in columns if c != target and pd.api.types.is_numeric_dtype(frame[c])], _SCORE_NAMES)
        prediction = _find([c for c in columns if c != target], _PREDICTION_NAMES)
        if score is not None:
            spec["score"] = score
            low, high = float(frame[score].min()), float(frame[score].max())
            spec["threshold"] = 0.5 if 0 <= low and high <= 1 else float(frame[score].median())
        elif prediction is not None:
            spec["prediction"] = prediction
    used = {target, spec.get("score"), spec.get("prediction")}
    sensitive = [c for c in (_find([c], _SENSITIVE_NAMES) for c in columns) if c and c not in used]
    spec["sensitive"] = [c for c in sensitive if c != "age"][:2] or sensitive[:1]
    return {"dataset": dataset_id, "model": model_id, "spec": _complete(spec)}


def _complete(spec: dict[str, Any]) -> dict[str, Any]:
    defaults = AuditSpec(target="_", sensitive=("_s",)).to_dict()
    defaults.update({k: v for k, v in spec.items() if v is not None})
    return defaults
