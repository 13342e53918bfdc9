"""A user's working state in the app: which dataset and model, which settings, and cached results.

The browser keeps a small ``state`` dict (artifact ids and the spec as plain JSON); these functions turn
it into loaded objects through the artifact store, caching everything expensive by content:
``(dataset sha256, model sha256, spec)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from auditapp.core.audit import Audit, run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.scores import ScoreIndex
from auditapp.core.spec import AuditSpec
from auditapp.core.workload import WorkLimits
from auditapp.inputs.intake import Dataset, read_table
from auditapp.service.store import ArtifactStore


def load_dataset(store: ArtifactStore, token: str, dataset_id: str, *, missing_values=()) -> Dataset:
    """The parsed dataset (parsed once per content and missing-value words, then cached)."""
    from auditapp.core.missing import parse_missing_values

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

    Uploaded model files run in a sandboxed process kept apart per session (see :mod:`auditapp.inputs.sandbox`);
    the built-in scenarios' models, written by auditapp's own code, are opened in this process.
    """
    if not model_id:
        return None
    from auditapp.inputs.models import load_model as _load

    info = store.info(token, model_id)
    path = store.path(token, model_id)
    if model_id.startswith("builtin:"):
        return store.cached(("model", info.sha256, trust_pickle, "builtin"),
                            lambda: _load(path, filename=info.name, trust_pickle=trust_pickle, sandbox=False),
                            disk=False)
    scope = session_scope(store, token)
    # The description the sandbox gave at upload: no model process starts until predictions are needed.
    described = info.meta.get("description") if isinstance(info.meta, dict) else None
    model = store.cached(("model", info.sha256, trust_pickle, scope),
                         lambda: _load(path, filename=info.name, trust_pickle=trust_pickle, scope=scope,
                                       description=described), disk=False)
    return model.with_memo(SessionOutputs(store, token))


class SessionOutputs:
    """A sandboxed model's predictions kept in the artifact store for one browser session
    (:class:`~auditapp.inputs.sandboxed_model.OutputsMemo`): the audit's predictions of the whole dataset
    serve the mitigation comparison that follows, in another process, without a model process."""

    def __init__(self, store: ArtifactStore, token: str):
        self.store, self.token = store, token

    def get(self, key: tuple) -> Any | None:
        return self.store.find(self.token, key)

    def put(self, key: tuple, value: Any) -> None:
        self.store.cached(key, lambda: value, token=self.token)


def session_scope(store: ArtifactStore, token: str) -> str:
    """A digest of the browser session: model processes serve one session only."""
    import hashlib

    return hashlib.sha256(store.session_id(token).encode()).hexdigest()[:16]


def spec_from_state(state: dict[str, Any]) -> AuditSpec:
    """The ``AuditSpec`` stored in the browser state."""
    if not state or not state.get("spec"):
        raise AuditInputError("No audit yet: choose what to audit on the Data & model page and press Run audit.")
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
    whole source through an engine (``auditapp.engines.source_audit``); ``progress(fraction, text)`` hears from it.
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
            from auditapp.engines.source_audit import audit_whole_source

            if state.get("missing_values"):
                raise AuditInputError(
                    "Words read as missing apply to uploaded files; a server-side source is read as it is stored "
                    "(empty cells and nulls are missing). Clear “Read as missing” and audit again.")

            return audit_whole_source(state["source"], spec, model, progress=progress)
        dataset = dataset_for(store, token, state)
        return run_audit(dataset.frame, spec, model, limits=WorkLimits.configured())

    return store.cached(key, compute, token=token)


def cached_audit(store: ArtifactStore, token: str, state: dict[str, Any] | None, *,
                 trust_pickle: bool = False) -> Audit | None:
    """The audit ``state`` describes when it is already cached (this session may see it), else None.

    Never computes: for drawing a page with its first view (a page opening must not wait for an audit;
    one that is not cached yet goes through the page's callbacks and the audit queue).
    """
    if not state or not state.get("dataset"):
        return None
    try:
        key = ("audit", *state_key(store, token, state))
    except (AuditInputError, KeyError):  # no such upload for this session (SessionError is one)
        return None
    if store.peek(key) is None:
        return None
    return audit_for(store, token, state, trust_pickle=trust_pickle)


def threshold_index_for(store: ArtifactStore, token: str, state: dict[str, Any], features: tuple[str, ...],
                        *, trust_pickle: bool = False) -> ScoreIndex:
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


def state_for_dataset(store: ArtifactStore, token: str, state: dict[str, Any] | None, dataset_id: str, *,
                      trust_pickle: bool = False) -> tuple[dict[str, Any], str | None]:
    """The state after the user loads a new dataset, and a sentence about the model loaded before it.

    The new dataset starts with no settings (the user chooses them: nothing is guessed). A model loaded
    before is kept when the dataset has every column it needs and removed otherwise; either way the
    sentence says so, naming the missing columns. The checked policy stays.
    """
    from auditapp.service.forms import loaded_model

    dataset = load_dataset(store, token, dataset_id)
    new: dict[str, Any] = {"dataset": dataset_id, "model": None, "model_file": None, "spec": None,
                           "policy": (state or {}).get("policy")}
    model_id = loaded_model(state)
    if not model_id:
        return new, None
    try:
        name = store.info(token, model_id).name
        lacking, needed = model_columns_missing(store, token, model_id, dataset, trust_pickle=trust_pickle)
    except AuditInputError as exc:
        return new, f"The model loaded before was removed: {exc}"
    if lacking:
        return new, (f"Removed the model {name}: {dataset.name} lacks {len(lacking)} of the {needed} columns it "
                     f"needs ({listed(lacking)}). Upload a model trained on these columns, or audit a prediction "
                     "or score column of the dataset.")
    new["model_file"] = model_id
    return new, (f"Kept the model {name}: {dataset.name} has all {needed} columns it needs. "
                 "Choose “The model” as the prediction source to audit it.")


def listed(names: list[str], *, most: int = 8) -> str:
    """``"a, b, c"``, or ``"a, …, h and 4 more"`` past ``most`` names."""
    shown = ", ".join(map(str, names[:most]))
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def model_columns_missing(store: ArtifactStore, token: str, model_id: str, dataset: Dataset, *,
                          trust_pickle: bool = False) -> tuple[list[str], int]:
    """The columns the model needs that ``dataset`` lacks, and how many it needs (no model process starts)."""
    model = load_model(store, token, model_id, trust_pickle=trust_pickle)
    present = set(dataset.columns)
    return [c for c in model.feature_names if c not in present], len(model.feature_names)


def suggestions_for(store: ArtifactStore, token: str, state: dict[str, Any]):
    """What the dataset's column names and values suggest (:mod:`auditapp.core.suggestions`), cached per content."""
    from auditapp.core.suggestions import suggest
    from auditapp.service.forms import loaded_model

    dataset = dataset_for(store, token, state)
    has_model = bool(loaded_model(state))
    words = tuple(state.get("missing_values") or ())
    return store.cached(("suggestions", dataset.sha256, has_model, *((words,) if words else ())),
                        lambda: suggest(dataset.frame, has_model=has_model), disk=False)
