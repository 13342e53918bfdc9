"""Load a classifier (skops, ONNX, or trusted pickle) behind one :class:`AuditModel` interface.

Model files are untrusted: :func:`load_model` opens them in a sandboxed process (:mod:`auditapp.inputs.sandbox`)
and the ``AuditModel`` it returns predicts through that process (``runner`` is a
:class:`~auditapp.inputs.sandboxed_model.SandboxedModel`; ``estimator`` is None). Inside the sandbox the same
function opens the file in-process (``sandbox=False``): pickle/joblib is refused unless trust is on,
skops names are checked against the exact allow-list, ONNX runs in onnxruntime (see
:mod:`auditapp.inputs.allowlist`). Estimators handed over in memory (:func:`from_estimator`) and files written
by auditapp's own code (the built-in scenarios) stay in-process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.inputs.allowlist import (
    PICKLE_SUFFIXES,
    load_pickle_estimator,
    load_skops_estimator,
    looks_like_pickle,
    precheck_skops,
    refuse_untrusted_pickle,
)
from auditapp.inputs.intake import Limits, read_source_bytes, sha256_bytes
from auditapp.inputs.sandboxed_model import SandboxedModel


@dataclass(frozen=True, eq=False)
class AuditModel:
    """A loaded classifier or regressor (no ``classes``): what it needs, what it predicts, and how to call it.

    ``format`` is ``"skops"``, ``"onnx"``, ``"pickle"`` or ``"sklearn"`` (an in-memory object).
    ``classes`` are plain Python values, in the order of the ``predict_proba`` columns.
    ``estimator`` is the scikit-learn estimator when the model lives in this process, else None;
    ``runner`` runs it elsewhere: a ``SandboxedModel`` (a model file in its sandbox) or an ONNX runner.
    ``decides_at_random`` is True for auditapp's exported randomised mitigations (their ``predict`` draws
    each decision from their probability by a seeded hash of the row), whose decisions are not
    "probability ≥ 0.5".
    """

    format: str
    sha256: str | None
    name: str
    feature_names: tuple[str, ...]
    classes: tuple[Any, ...]
    can_refit: bool
    estimator: Any  # the fitted scikit-learn estimator (in this process), or None
    runner: Any = field(default=None, repr=False)  # a SandboxedModel or an ONNX runner, or None
    decides_at_random: bool = False

    @property
    def sandboxed(self) -> bool:
        """True when the model runs in a sandboxed process (every uploaded or command-line model file)."""
        return isinstance(self.runner, SandboxedModel)

    @property
    def has_proba(self) -> bool:
        """Whether the model gives class probabilities."""
        if self.runner is not None:
            return bool(self.runner.has_proba)
        return hasattr(self.estimator, "predict_proba")

    @property
    def learner(self) -> Any:
        """What refitting clones: the estimator, or the sandboxed model (which refits in its sandbox);
        None for ONNX graphs."""
        if self.estimator is not None:
            return self.estimator
        return self.runner if self.sandboxed and self.format != "onnx" else None

    def with_memo(self, memo: Any) -> AuditModel:
        """This model keeping a sandboxed model's outputs in ``memo`` (see
        :class:`~auditapp.inputs.sandboxed_model.OutputsMemo`); any other model as it is."""
        if not isinstance(self.runner, SandboxedModel):
            return self
        return replace(self, runner=self.runner.with_memo(memo))

    @property
    def refittable(self) -> bool:
        """Whether mitigation and the feedback loop can retrain this model's learner."""
        return bool(self.can_refit) and self.learner is not None

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise :class:`AuditInputError` naming every needed column that ``frame`` lacks."""
        present = {str(c) for c in frame.columns}
        missing = [c for c in self.feature_names if c not in present]
        if missing:
            raise AuditInputError(
                f"The model needs columns {', '.join(missing)} that the dataset does not have. "
                f"The model {self.name} was trained on: {', '.join(self.feature_names)}. "
                "Upload a dataset with those columns, or the model that matches this dataset."
            )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Return each row's predicted class label (values from ``classes``), or amount for a regressor.

        Raises :class:`AuditInputError` if ``frame`` lacks a column the model needs.
        """
        self.check_columns(frame)
        if self.runner is not None:
            result: np.ndarray = self.runner.predict(frame)
            return result
        return np.asarray(self.estimator.predict(frame.loc[:, list(self.feature_names)]))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return class probabilities, shape ``(n_samples, len(classes))``, or None if unavailable.

        Raises :class:`AuditInputError` if ``frame`` lacks a column the model needs.
        """
        self.check_columns(frame)
        if self.runner is not None:
            result: np.ndarray | None = self.runner.predict_proba(frame)
            return result
        if not hasattr(self.estimator, "predict_proba"):
            return None
        proba = self.estimator.predict_proba(frame.loc[:, list(self.feature_names)])
        return np.asarray(proba, dtype=np.float64)

    def score(self, frame: pd.DataFrame, positive_class: Any) -> np.ndarray | None:
        """Return the probability of ``positive_class`` for each row (float64), or None.

        ``positive_class`` may also be given as its string form (``"1"`` for ``1``). Raises
        :class:`AuditInputError` if it is not one of ``classes``, or a needed column is missing.
        """
        result: np.ndarray | None = self.outputs(frame, positive_class, labels=False)[1]
        return result

    def outputs(self, frame: pd.DataFrame, positive_class: Any, *,
                labels: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(labels, scores)``: predicted labels (None when not asked for and there are scores) and
        the probability of ``positive_class`` (None without probabilities), in one pass of the model.

        Raises :class:`AuditInputError` if ``positive_class`` is not one of ``classes``, or a needed
        column is missing.
        """
        index = _class_index(self.classes, positive_class)
        if index is None:
            raise AuditInputError(
                f"{positive_class!r} is not a class of the model {self.name}; it predicts "
                f"{_listed(self.classes)}. Pick one of those as the positive class."
            )
        self.check_columns(frame)
        if self.sandboxed:
            found, proba = self.runner.outputs(frame, labels=labels)
        else:
            proba = self.predict_proba(frame)
            found = self.predict(frame) if labels or proba is None else None
        return found, None if proba is None else proba[:, index].astype(np.float64)


def model_format(data: bytes, name: str) -> str:
    """``"pickle"``, ``"skops"`` or ``"onnx"``: by extension, then by content (pickle content always wins).

    Raises
    ------
    AuditInputError
        If the file is none of them.
    """
    suffix = Path(name).suffix.lower()
    if suffix in PICKLE_SUFFIXES or looks_like_pickle(data):
        return "pickle"
    if suffix == ".skops" or (suffix != ".onnx" and data.startswith(b"PK\x03\x04")):
        return "skops"
    if suffix == ".onnx" or data[:1] == b"\x08":
        return "onnx"
    raise AuditInputError(
        f"{name} is not a model file auditapp can read (extension {suffix or 'none'!r}, and the "
        "content is neither skops, ONNX nor pickle). Upload a .skops or .onnx file, or give "
        "predictions as dataset columns instead."
    )


def load_model(source: str | os.PathLike[str] | bytes, *, filename: str | None = None,
               trust_pickle: bool = False, limits: Limits | None = None, sandbox: bool = True,
               scope: str = "", description: dict[str, Any] | None = None, processes: int = 1) -> AuditModel:
    """Load a classifier or regressor from a skops, ONNX or (trusted) pickle/joblib file.

    The format is chosen by extension (``.skops``, ``.onnx``, ``.pkl``/``.pickle``/``.joblib``),
    then by content (pickle protocol header, ZIP archive for skops, protobuf for ONNX). Pickle
    content is refused whatever the extension says unless trust is on.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path, or the raw bytes of an upload.
    filename : str, optional
        Name shown to the user and used for the extension; defaults to the path's file name.
    trust_pickle : bool, optional
        Load pickle/joblib files (default False). The caller decides: the app passes its settings'
        ``trust_pickle`` (``AUDITAPP_TRUST_PICKLE``), the CLI its ``--trust-pickle`` flag; this function
        reads no environment.
    limits : Limits, optional
        Only ``max_bytes`` applies; defaults to :meth:`Limits.configured`.
    sandbox : bool, default True
        Open and run the file in a sandboxed process. False only for files auditapp's own code wrote
        (built-in scenarios) and inside the sandbox itself.
    scope : str, optional
        Keeps model processes apart (the app passes a digest of the browser session).
    description : dict, optional
        What a model process said about this file before (``SandboxedModel.description``, kept with an
        upload): then no process starts until the model is asked for predictions.
    processes : int, default 1
        Model processes to start at once for work side by side (e.g. a mitigation comparison's two slots).

    Returns
    -------
    AuditModel

    Raises
    ------
    UntrustedModelError
        For pickle/joblib without trust, a skops file needing names off the allow-list, or a server
        that cannot sandbox model files (see ``AUDITAPP_ALLOW_WEAK_SANDBOX``).
    AuditInputError
        For an empty, corrupt or unrecognised file, or a model without column names or classes.
    LimitExceededError
        If the file is larger than ``limits.max_bytes``, or the model runs out of time or memory.
    """
    limits = limits if limits is not None else Limits.configured()
    data, name = read_source_bytes(source, filename=filename, default_name="uploaded model",
                                   max_bytes=limits.max_bytes)
    if not data:
        raise AuditInputError(f"{name} is empty (0 bytes). Upload the model file again.")
    sha = sha256_bytes(data)
    fmt = model_format(data, name)
    trusted = bool(trust_pickle)
    if fmt == "pickle" and not trusted:
        refuse_untrusted_pickle(name)
    if not sandbox:
        return _load_here(data, fmt=fmt, sha=sha, name=name, trusted=trusted)
    from auditapp.inputs.sandbox import ModelRef, require_sandbox

    require_sandbox(name)
    if fmt == "skops":
        precheck_skops(data, name=name)  # a refused file never starts a process
    path = None if isinstance(source, (bytes, bytearray)) else str(Path(source).resolve())
    ref = ModelRef(sha256=sha, name=name, format=fmt, trust_pickle=trusted and fmt == "pickle", path=path,
                   data=None if path else bytes(data), scope=scope)
    if processes > 1:
        from auditapp.inputs.sandbox import default_pool

        default_pool().warm_up(ref, processes)  # started together; describe takes the first one ready
    runner = SandboxedModel.describe(ref) if description is None else SandboxedModel.from_description(ref,
                                                                                                       description)
    return AuditModel(format=fmt, sha256=sha, name=name, feature_names=runner.feature_names,
                      classes=runner.classes, can_refit=runner.can_refit, estimator=None, runner=runner,
                      decides_at_random=runner.decides_at_random)


def _load_here(data: bytes, *, fmt: str, sha: str, name: str, trusted: bool) -> AuditModel:
    """Open the file in this process (inside the sandbox, or a file auditapp wrote itself)."""
    if fmt == "pickle":
        return _wrap(load_pickle_estimator(data, name=name, trusted=trusted), fmt="pickle", sha=sha, name=name)
    if fmt == "skops":
        return _wrap(load_skops_estimator(data, name=name), fmt="skops", sha=sha, name=name)
    from auditapp.inputs.onnx_runner import OnnxRunner

    runner = OnnxRunner(data, name=name)
    return AuditModel(format="onnx", sha256=sha, name=name, feature_names=runner.feature_names,
                      classes=runner.classes, can_refit=False, estimator=None, runner=runner)


def from_estimator(estimator: Any, *, name: str = "in-memory model") -> AuditModel:
    """Wrap a fitted scikit-learn classifier or regressor (fitted on a DataFrame) as an :class:`AuditModel`.

    A regressor has no ``classes`` (empty tuple); its ``predict`` gives amounts. Raises
    :class:`AuditInputError` if it is neither a fitted classifier nor a fitted regressor, or does not record
    its training column names (``feature_names_in_``).
    """
    return _wrap(estimator, fmt="sklearn", sha=None, name=name)


def save_skops(estimator: Any, path: str | os.PathLike[str]) -> str:
    """Write ``estimator`` to ``path`` in the skops format and return the file's sha256."""
    from auditapp.inputs.allowlist import skops_io

    sio = skops_io()

    data = sio.dumps(estimator)
    Path(path).write_bytes(data)
    return sha256_bytes(data)


def match_favorable_class(model: AuditModel, favorable: Any, *, model_favorable: Any = None) -> object:
    """Return the model's class that means the target's favourable value.

    ``favorable`` is used when it is one of ``model.classes`` (compared as values, then as
    strings, so ``"1"`` matches ``1``); otherwise ``model_favorable`` names the model's class.
    Raises :class:`AuditInputError` if neither matches a class of the model, or the model is a regressor.
    """
    if not model.classes:
        raise AuditInputError(
            f"{model.name} is a regressor: it predicts amounts, not classes, so it has no favourable class. "
            "Audit it as a regression (--task regression in the command line; the Amounts & classes page in the "
            "app), or upload the classifier that makes the decision."
        )
    index = _class_index(model.classes, favorable)
    if index is not None:
        return model.classes[index]
    if model_favorable is not None:
        index = _class_index(model.classes, model_favorable)
        if index is not None:
            return model.classes[index]
        raise AuditInputError(
            f"The model's favourable class {_plain(model_favorable)!r} is not a class the model "
            f"predicts; it predicts {_listed(model.classes)}. Pick one of those."
        )
    raise AuditInputError(
        f"The model predicts classes {_listed(model.classes)} but the target's favourable value "
        f"is {_plain(favorable)!r}. Name the model's class that means {_plain(favorable)!r} "
        "(--model-favorable in the CLI, the 'model's favourable class' field in the app)."
    )


def _wrap(estimator: Any, *, fmt: str, sha: str | None, name: str) -> AuditModel:
    if not hasattr(estimator, "predict"):
        raise AuditInputError(
            f"{name} holds a {type(estimator).__name__}, not a model with a predict method. "
            "Upload a fitted scikit-learn classifier or pipeline."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        if not _fitted_regressor(estimator):
            raise AuditInputError(
                f"{name} ({type(estimator).__name__}) is not a fitted classifier or regressor: it has no classes_ "
                "and is not a fitted regressor. Fit it before saving."
            )
        classes = ()  # a regressor: it predicts amounts (audited with task "regression")
    feature_names = getattr(estimator, "feature_names_in_", None)
    if feature_names is None:
        raise AuditInputError(
            f"{name}: the model does not record the column names it was trained on; refit it on "
            "a DataFrame (not a NumPy array) so it keeps feature_names_in_, and save it again."
        )
    return AuditModel(
        format=fmt, sha256=sha, name=name,
        feature_names=tuple(str(c) for c in feature_names),
        classes=tuple(np.asarray(classes).tolist()),
        can_refit=hasattr(estimator, "get_params"), estimator=estimator,
        decides_at_random=getattr(type(estimator), "decides_at_random", False) is True,
    )


def _fitted_regressor(estimator: Any) -> bool:
    """Whether ``estimator`` (or a pipeline ending in one) is a fitted scikit-learn regressor."""
    from sklearn.base import is_regressor
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        if not is_regressor(estimator):
            return False
        check_is_fitted(estimator)
    except (NotFittedError, TypeError, AttributeError, ValueError):
        return False
    return True


def _class_index(classes: tuple[Any, ...], value: Any) -> int | None:
    """Index of ``value`` in ``classes``: same type and value, else same text, else same number."""
    value, number = _plain(value), _as_number(value)
    for same in (lambda c: type(c) is type(value) and c == value,
                 lambda c: str(c).strip() == str(value).strip(),
                 lambda c: number is not None and _as_number(c) == number):
        index = next((i for i, c in enumerate(classes) if same(c)), None)
        if index is not None:
            return index
    return None


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _plain(value: Any) -> Any:
    """NumPy scalars → Python values, so messages and comparisons are plain."""
    return value.item() if isinstance(value, np.generic) else value


def _listed(classes: Sequence[Any]) -> str:
    return ", ".join(str(_plain(c)) for c in classes)
