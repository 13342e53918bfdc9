"""auditapp's side of a model that runs in a sandbox: send a task, check the answer, rebuild our types.

:class:`SandboxedModel` stands where a scikit-learn estimator or an ONNX session would: ``AuditModel``
uses it for predictions, the explainer for SHAP values, the mitigation candidates for training, the
feedback loop for retraining. It holds no model object, only a :class:`~auditapp.inputs.sandbox.ModelRef`,
so it pickles small and works in any process (web, audit helper, background job, Celery worker): each
process starts its own model process on first use. Every answer is checked for type, shape and range
before auditapp uses it; anything else is an error, not a guess.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
import weakref
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.inputs.sandbox import Kept, ModelRef, default_pool
from auditapp.inputs.sandbox_codec import ProtocolError, frame_digest

FORMATS = ("skops", "onnx", "pickle")
CHUNK_ROWS = 200_000
SIDE_BY_SIDE_ROWS = 10_000  # rows each model process gets at least when a prediction is shared between several
_MAX_TEXT = 2000


def _bad(what: str, ref: ModelRef) -> AuditInputError:
    return AuditInputError(f"The model process for {ref.name} answered with {what}; the answer was refused. "
                           "The model file may be hostile or corrupt.")


def _text(value: Any, ref: ModelRef, what: str, limit: int = _MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(f"a malformed {what}", ref)
    return value


def _array(value: Any, ref: ModelRef, what: str, *, shape: tuple[int | None, ...], kinds: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds or value.ndim != len(shape) \
            or any(want is not None and got != want for got, want in zip(value.shape, shape, strict=True)):
        got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
        raise _bad(f"{what} of the wrong type or shape ({got})", ref)
    return value


def _scalar(value: Any, ref: ModelRef) -> object:
    if isinstance(value, bool) or (isinstance(value, (int, float)) and np.isfinite(value)):
        return value
    if isinstance(value, str) and len(value) <= 1000:
        return value
    raise _bad("a class label that is not a number or short text", ref)


@dataclass(frozen=True)
class ExportedModel:
    """A fitted model produced in the sandbox as skops bytes: stored and handed out, never loaded here."""

    data: bytes = field(repr=False)
    input_columns: tuple[str, ...]
    decides: str | None = None  # how it decides, as the sandbox described it (for the manifest)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class OutputsMemo(Protocol):
    """Where a model's outputs for given rows are kept between processes (the app's artifact store).

    ``get(key)`` returns what ``put(key, value)`` stored, or None. Keys name the model file (sha256,
    format, trust) and the exact rows sent (:func:`~auditapp.inputs.sandbox_codec.frame_digest`).
    """

    def get(self, key: tuple[Any, ...]) -> Any | None: ...

    def put(self, key: tuple[Any, ...], value: Any) -> None: ...


_SPLITS: list[tuple[Any, str]] = []  # (weak reference to a mitigation context, its key), the last few
_SPLITS_LOCK = threading.Lock()


def split_key(ctx: Any) -> str:
    """A random key naming the mitigation context ``ctx`` while it exists (another object, another key).

    A model process keeps the last split it was sent under its key, so a comparison's rows cross to each
    process once rather than with every candidate (~8 MB on Adult, 30-50 ms per candidate in a busy command).
    """
    with _SPLITS_LOCK:
        for held, key in _SPLITS:
            if held() is ctx:
                return key
        key = uuid.uuid4().hex
        _SPLITS.append((weakref.ref(ctx), key))
        del _SPLITS[:-4]
        return key


@dataclass(frozen=True, eq=False)
class SandboxedModel:
    """A model file loaded in a sandboxed process; see the module docstring.

    With a ``memo``, predictions already made for the same rows (by another process of the app: the
    audit before a mitigation comparison) are taken from it instead of starting a model process. The
    memo is left behind when the model is pickled.
    """

    ref: ModelRef
    feature_names: tuple[str, ...]
    classes: tuple[Any, ...]
    kind: str  # the learner's class (a pipeline's last step)
    type_name: str  # the model's own class
    has_proba: bool
    can_refit: bool
    decides_at_random: bool = False  # auditapp's exported randomised mitigations decide by their own draws
    memo: OutputsMemo | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "memo"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, memo=None)

    def with_memo(self, memo: OutputsMemo | None) -> SandboxedModel:
        """This model, keeping its outputs in ``memo``."""
        return replace(self, memo=memo)

    @classmethod
    def describe(cls, ref: ModelRef) -> SandboxedModel:
        """Load ``ref`` in a model process and check what it says about the model.

        Raises
        ------
        UntrustedModelError, AuditInputError, LimitExceededError
            As the model process reports (allow-list, trust, a bad file), or for a malformed answer.
        """
        return cls.from_description(ref, default_pool().call(ref, "describe"))

    @classmethod
    def from_description(cls, ref: ModelRef, info: Any) -> SandboxedModel:
        """The model as its model process described it (now, or when it was uploaded: ``description``),
        checked; no process is started until the model is asked for something.

        Raises
        ------
        AuditInputError
            For a malformed description.
        """
        if not isinstance(info, dict) or info.get("format") not in FORMATS or info["format"] != ref.format:
            raise _bad("a malformed description", ref)
        names, classes = info.get("feature_names"), info.get("classes")
        if not isinstance(names, list) or not 0 < len(names) <= 100_000 or not isinstance(classes, list) \
                or not 0 <= len(classes) <= 10_000:  # no classes: a regressor
            raise _bad("a malformed list of columns or classes", ref)
        flags = (info.get("can_refit"), info.get("has_proba"), info.get("decides_at_random", False))
        if not all(isinstance(f, bool) for f in flags):
            raise _bad("a malformed description", ref)
        return cls(ref=ref, feature_names=tuple(_text(n, ref, "column name", 1000) for n in names),
                   classes=tuple(_scalar(c, ref) for c in classes), kind=_text(info.get("kind"), ref, "kind", 200),
                   type_name=_text(info.get("type_name"), ref, "type", 200), has_proba=bool(flags[1]), can_refit=bool(flags[0]),
                   decides_at_random=bool(flags[2]))

    @property
    def description(self) -> dict[str, Any]:
        """What the model process said about the model, as JSON (kept with an upload)."""
        return {"format": self.ref.format, "feature_names": list(self.feature_names), "classes": list(self.classes),
                "kind": self.kind, "type_name": self.type_name, "has_proba": self.has_proba,
                "can_refit": self.can_refit, "decides_at_random": self.decides_at_random}

    def _call(self, task: str, args: dict[str, Any], progress: Any = None, kept: Kept | None = None) -> Any:
        try:
            return default_pool().call(self.ref, task, args, progress=progress, kept=kept)
        except ProtocolError as exc:
            raise _bad(f"a malformed message ({exc})", self.ref) from exc

    # -- predictions -----------------------------------------------------------------------------
    def outputs(self, frame: pd.DataFrame, *, labels: bool = True,
                proba: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(labels or None, probabilities or None)`` for the rows of ``frame``, sent at most ``CHUNK_ROWS``
        rows at a time (so the model process's memory and each answer stay bounded). When several of this
        model's processes are idle or being started (a mitigation comparison starts two), many rows are shared
        between them (at least ``SIDE_BY_SIDE_ROWS`` each) and predicted side by side."""
        rows = frame.loc[:, list(self.feature_names)]
        key = None
        if self.memo is not None:
            key = ("model-outputs", self.ref.sha256, self.ref.format, self.ref.trust_pickle, frame_digest(rows),
                   bool(labels), bool(proba))
            kept = self.memo.get(key)
            if kept is not None and _fits(kept, len(rows), labels=labels):
                found: tuple[np.ndarray | None, np.ndarray | None] = kept
                return found
        side = min(default_pool().available(self.ref), len(rows) // SIDE_BY_SIDE_ROWS)
        count = max(-(-len(rows) // CHUNK_ROWS), side, 1)
        bounds = [round(i * len(rows) / count) for i in range(count + 1)]  # parts of (nearly) equal size

        def part(i: int) -> tuple[np.ndarray | None, np.ndarray | None]:
            return self._outputs(rows.iloc[bounds[i]:bounds[i + 1]], labels=labels, proba=proba)

        if side > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=side, thread_name_prefix="auditapp-predict") as pool:
                parts = list(pool.map(part, range(count)))
        else:
            parts = [part(i) for i in range(count)]
        found_labels = None if parts[0][0] is None else np.concatenate([p[0] for p in parts])
        found_proba = None if parts[0][1] is None else np.concatenate([p[1] for p in parts])
        if key is not None and self.memo is not None:
            self.memo.put(key, (found_labels, found_proba))
        return found_labels, found_proba

    def _outputs(self, rows: pd.DataFrame, *, labels: bool,
                 proba: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
        answer = self._call("predict", {"rows": rows, "labels": labels, "proba": proba and self.has_proba})
        if not isinstance(answer, dict):
            raise _bad("a malformed prediction", self.ref)
        n = len(rows)
        found_labels, found_proba = answer.get("labels"), answer.get("proba")
        if found_labels is not None:
            found_labels = _array(found_labels, self.ref, "labels", shape=(n,), kinds="biufU")
            if found_labels.dtype.kind == "U":
                found_labels = found_labels.astype(object)
        if found_proba is not None:
            found_proba = _array(found_proba, self.ref, "probabilities", shape=(n, len(self.classes)),
                                 kinds="f").astype(np.float64)
        if (labels or found_proba is None) and found_labels is None:
            raise _bad("no labels", self.ref)
        return found_labels, found_proba

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted class labels."""
        labels = self.outputs(frame, labels=True, proba=False)[0]
        if labels is None:
            raise _bad("no labels", self.ref)
        return labels

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities in ``classes`` order, or None for a model without them."""
        if not self.has_proba:
            return None
        result: np.ndarray | None = self.outputs(frame, labels=False, proba=True)[1]
        return result

    # -- explanations ----------------------------------------------------------------------------
    def explainer_method(self, args: dict[str, Any]) -> str:
        """The explainer the model process builds for these backgrounds and settings."""
        answer = self._call("explainer", args)
        method = answer.get("method") if isinstance(answer, dict) else None
        if method not in ("tree", "linear", "permutation"):
            raise _bad("an unknown explainer", self.ref)
        result: str = method
        return result

    def explain(self, args: dict[str, Any]) -> dict[str, Any]:
        """SHAP values of ``args["rows"]`` (checked: one value per row and feature, finite numbers)."""
        answer = self._call("explain", args)
        if not isinstance(answer, dict):
            raise _bad("malformed SHAP values", self.ref)
        n, k = len(args["rows"]), len(self.feature_names)
        values = _array(answer.get("values"), self.ref, "SHAP values", shape=(n, k), kinds="f")
        output = _array(answer.get("output"), self.ref, "model outputs", shape=(n,), kinds="f")
        base = answer.get("base_value")
        if isinstance(base, bool) or not isinstance(base, (int, float)) \
                or answer.get("output_space") not in ("log-odds", "probability", "prediction") \
                or answer.get("method") not in ("tree", "linear", "permutation"):
            raise _bad("malformed SHAP values", self.ref)
        return {"values": values.astype(np.float64), "output": output.astype(np.float64),
                "base_value": float(base), "output_space": answer["output_space"], "method": answer["method"]}

    # -- mitigation ------------------------------------------------------------------------------
    def warm_up(self, processes: int) -> None:
        """Have ``processes`` model processes for this model started in the background (see
        :meth:`auditapp.inputs.sandbox.SandboxPool.warm_up`)."""
        default_pool().warm_up(self.ref, processes)

    def fit_candidate(self, ctx: Any, name: str) -> dict[str, Any]:
        """Train mitigation candidate ``name`` on ``ctx``'s split in the model process; checked answer."""
        def context() -> dict[str, Any]:
            wanted = list(dict.fromkeys([*ctx.model_features, *ctx.learner_features, *ctx.sensitive]))
            built = {f.name: getattr(ctx, f.name) for f in fields(ctx) if f.name != "estimator"}
            for part in ("train", "test"):
                frame = built[part]
                built[part] = frame.loc[:, [c for c in wanted if c in frame.columns]]
            built["reference"] = dict(built["reference"])
            return built

        # The split's rows go to each process once per comparison (the first candidate it trains), not with
        # every candidate; a process that no longer has them says so and is sent them.
        key = split_key(ctx)
        split = Kept("context", key, context)
        answer = self._call("fit_candidate", {"context_key": key, "name": name}, kept=split)
        if isinstance(answer, dict) and answer.get("unknown_context") is True:
            answer = self._call("fit_candidate", {"context_key": key, "context": split.value(), "name": name},
                                kept=split)
        if not isinstance(answer, dict) or "unknown_context" in answer:
            raise _bad("a malformed training result", self.ref)
        n = len(ctx.y_test)
        y_pred = _array(answer.get("y_pred"), self.ref, "predictions", shape=(n,), kinds="biu")
        if not np.isin(y_pred, (0, 1)).all():
            raise _bad("predictions other than 0 and 1", self.ref)
        y_score = answer.get("y_score")
        if y_score is not None:
            y_score = _array(y_score, self.ref, "scores", shape=(n,), kinds="f").astype(np.float64)
        notes = answer.get("notes")
        if not isinstance(notes, list) or len(notes) > 50:
            raise _bad("malformed notes", self.ref)
        data, columns = answer.get("model"), answer.get("input_columns")
        if (data is not None and not isinstance(data, bytes)) or not isinstance(columns, list) \
                or not isinstance(answer.get("needs_sensitive"), bool):
            raise _bad("a malformed training result", self.ref)
        warnings, decides = answer.get("warnings"), answer.get("decides")
        if not isinstance(answer.get("randomized"), bool) or not isinstance(warnings, list) or len(warnings) > 50 \
                or (decides is not None and not isinstance(decides, str)):
            raise _bad("a malformed training result", self.ref)
        model = None if data is None else ExportedModel(
            data, tuple(_text(c, self.ref, "column", 1000) for c in columns),
            None if decides is None else _text(decides, self.ref, "note"))
        return {"y_pred": y_pred.astype(np.int8), "y_score": y_score, "model": model,
                "learner": _text(answer.get("learner"), self.ref, "learner"),
                "notes": [_text(n, self.ref, "note") for n in notes],
                "needs_sensitive": answer["needs_sensitive"],
                "sensitive_note": _text(answer.get("sensitive_note"), self.ref, "note"),
                "randomized": answer["randomized"], "warnings": [_text(w, self.ref, "note") for w in warnings]}

    def fit_task_candidates(self, args: dict[str, Any]) -> dict[str, Any]:
        """Train a regression or multiclass model's candidates on the split sent (in the model process); the
        checked ``predictions`` (numbers for a regression, the model's own classes otherwise), ``messages``,
        ``errors`` and loss ``bound``."""
        sent = dict(args)
        for part in ("X_train", "X_test"):
            sent[part] = sent[part].loc[:, list(self.feature_names)]
        answer = self._call("fit_task_candidates", sent)
        if not isinstance(answer, dict) or not all(isinstance(answer.get(k), dict)
                                                   for k in ("predictions", "messages", "errors")):
            raise _bad("a malformed training result", self.ref)
        n, asked = len(args["X_test"]), list(args["candidates"])
        predictions, messages, errors = {}, {}, {}
        classes = {str(c) for c in self.classes}
        for name, values in answer["predictions"].items():
            if name not in asked:
                raise _bad("predictions of a candidate not asked for", self.ref)
            if args["task"] == "regression":
                array = _array(values, self.ref, "predictions", shape=(n,), kinds="fiu").astype(np.float64)
                if not np.isfinite(array).all():
                    raise _bad("predictions that are not finite numbers", self.ref)
            else:
                array = _array(values, self.ref, "predictions", shape=(n,), kinds="biuU").astype(str)
                if classes and not set(np.unique(array)) <= classes:
                    raise _bad("predictions outside the model's classes", self.ref)
            predictions[name] = array
        for name in asked:
            found = answer["messages"].get(name, [])
            if not isinstance(found, list) or len(found) > 50:
                raise _bad("malformed notes", self.ref)
            messages[name] = tuple(_text(m, self.ref, "note") for m in found)
            if name in answer["errors"]:
                errors[name] = _text(answer["errors"][name], self.ref, "note")
            elif name not in predictions:
                raise _bad("a candidate neither trained nor failed", self.ref)
        bound = answer.get("bound")
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            raise _bad("a malformed loss bound", self.ref)
        models: dict[str, ExportedModel] = {}
        found, columns = answer.get("models", {}), answer.get("input_columns", {})
        if not isinstance(found, dict) or not isinstance(columns, dict) or (found and not args.get("export")):
            raise _bad("models it was not asked for", self.ref)
        for name, data in found.items():
            names = columns.get(name)
            if name not in predictions or not isinstance(data, bytes) or not isinstance(names, list) \
                    or len(names) > 100_000:
                raise _bad("a malformed exported model", self.ref)
            models[name] = ExportedModel(data, tuple(_text(c, self.ref, "column", 1000) for c in names))
        return {"predictions": predictions, "messages": messages, "errors": errors,
                "bound": None if bound is None else float(bound), "models": models}

    # -- feedback loop ---------------------------------------------------------------------------
    def model_loop(self, params: Any, *, seed: int | None, names: list[str], worlds: tuple[str, ...],
                   progress: Any = None) -> list[dict[str, Any]]:
        """Run the model-in-the-loop rounds in the model process; the per-round records, checked."""
        columns = list(dict.fromkeys([*params.feature_columns, params.target, params.sensitive]))
        sent = {f.name: getattr(params, f.name) for f in fields(params) if f.name != "estimator"}
        sent["frame"] = params.frame.loc[:, columns]
        if params.history is not None:
            sent["history"] = params.history.loc[:, [c for c in columns if c in params.history.columns]]
        sent["feature_columns"] = tuple(params.feature_columns)
        answer = self._call("model_loop", {"params": sent, "seed": seed},
                            progress=None if progress is None else (lambda f, _m: progress(f)))
        records = answer.get("records") if isinstance(answer, dict) else None
        if not isinstance(records, list) or len(records) != params.rounds * len(worlds) \
                or answer.get("names") != names:
            raise _bad("malformed rounds", self.ref)
        return [_round_record(r, names, worlds, self.ref) for r in records]


def _fits(kept: Any, n: int, *, labels: bool) -> bool:
    """Whether a memo's value is a pair of outputs for ``n`` rows (anything else is computed afresh)."""
    if not isinstance(kept, tuple) or len(kept) != 2:
        return False
    found_labels, found_proba = kept
    if found_labels is None and (labels or found_proba is None):
        return False
    return all(part is None or (isinstance(part, np.ndarray) and len(part) == n) for part in kept)


def _round_record(record: Any, names: list[str], worlds: tuple[str, ...], ref: ModelRef) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("world") not in worlds or isinstance(record.get("round"), bool) \
            or not isinstance(record.get("round"), int):
        raise _bad("a malformed round", ref)
    out = {"round": record["round"], "world": record["world"]}
    for group in names:
        cell = record.get(group)
        if not isinstance(cell, dict):
            raise _bad("a malformed round", ref)
        rates = [cell.get("selection_rate"), cell.get("true_positive_rate")]
        seen = cell.get("labels_seen")
        if not all(isinstance(r, float) and (r != r or 0 <= r <= 1) for r in rates) \
                or isinstance(seen, bool) or not isinstance(seen, int) or seen < 0:
            raise _bad("a malformed round", ref)
        out[group] = {"selection_rate": rates[0], "true_positive_rate": rates[1], "labels_seen": seen}
    return out
