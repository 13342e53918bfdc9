"""Load a classifier (skops, ONNX, or trusted pickle) behind one :class:`AuditModel` interface.

Pickle/joblib is refused unless trust is on; skops types are checked against the allow-list; ONNX
runs in onnxruntime. See :mod:`auditapp.allowlist` for the safety rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from auditapp.allowlist import (
    PICKLE_SUFFIXES,
    load_pickle_estimator,
    load_skops_estimator,
    looks_like_pickle,
    open_onnx_session,
)
from auditapp.errors import AuditInputError
from auditapp.intake import Limits, read_source_bytes, sha256_bytes


@dataclass(frozen=True, eq=False)
class AuditModel:
    """A loaded classifier: what it needs, what it predicts, and how to call it.

    ``format`` is ``"skops"``, ``"onnx"``, ``"pickle"`` or ``"sklearn"`` (an in-memory object).
    ``classes`` are plain Python values, in the order of the ``predict_proba`` columns.
    ``estimator`` is the scikit-learn estimator, or None for ONNX models. ``decides_at_random`` is
    True for auditapp's exported randomised mitigations (their ``predict`` draws each decision from
    their probability by a seeded hash of the row), whose decisions are not "probability ≥ 0.5".
    """

    format: str
    sha256: str | None
    name: str
    feature_names: tuple[str, ...]
    classes: tuple
    can_refit: bool
    estimator: object | None
    runner: OnnxRunner | None = field(default=None, repr=False)
    decides_at_random: bool = False

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
        """Return each row's predicted class label (values from ``classes``).

        Raises :class:`AuditInputError` if ``frame`` lacks a column the model needs.
        """
        self.check_columns(frame)
        if self.runner is not None:
            return self.runner.predict(frame)
        return np.asarray(self.estimator.predict(frame.loc[:, list(self.feature_names)]))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return class probabilities, shape ``(n_samples, len(classes))``, or None if unavailable.

        Raises :class:`AuditInputError` if ``frame`` lacks a column the model needs.
        """
        self.check_columns(frame)
        if self.runner is not None:
            return self.runner.predict_proba(frame)
        if not hasattr(self.estimator, "predict_proba"):
            return None
        proba = self.estimator.predict_proba(frame.loc[:, list(self.feature_names)])
        return np.asarray(proba, dtype=np.float64)

    def score(self, frame: pd.DataFrame, positive_class) -> np.ndarray | None:
        """Return the probability of ``positive_class`` for each row (float64), or None.

        ``positive_class`` may also be given as its string form (``"1"`` for ``1``). Raises
        :class:`AuditInputError` if it is not one of ``classes``, or a needed column is missing.
        """
        index = _class_index(self.classes, positive_class)
        if index is None:
            raise AuditInputError(
                f"{positive_class!r} is not a class of the model {self.name}; it predicts "
                f"{_listed(self.classes)}. Pick one of those as the positive class."
            )
        proba = self.predict_proba(frame)
        return None if proba is None else proba[:, index].astype(np.float64)


def load_model(source: str | os.PathLike | bytes, *, filename: str | None = None,
               trust_pickle: bool | None = None, limits: Limits | None = None) -> AuditModel:
    """Load a classifier from a skops, ONNX or (trusted) pickle/joblib file.

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
        Load pickle/joblib files. None reads the environment: ``AUDITAPP_TRUST_PICKLE == "1"``.
    limits : Limits, optional
        Only ``max_bytes`` applies; defaults to :meth:`Limits.from_env`.

    Returns
    -------
    AuditModel

    Raises
    ------
    UntrustedModelError
        For pickle/joblib without trust, or a skops file needing types off the allow-list.
    AuditInputError
        For an empty, corrupt or unrecognised file, or a model without column names or classes.
    LimitExceededError
        If the file is larger than ``limits.max_bytes``.
    """
    limits = limits if limits is not None else Limits.from_env()
    data, name = read_source_bytes(source, filename=filename, default_name="uploaded model",
                                   max_bytes=limits.max_bytes)
    if not data:
        raise AuditInputError(f"{name} is empty (0 bytes). Upload the model file again.")
    sha = sha256_bytes(data)
    suffix = Path(name).suffix.lower()
    if suffix in PICKLE_SUFFIXES or looks_like_pickle(data):
        trusted = (os.environ.get("AUDITAPP_TRUST_PICKLE", "") == "1" if trust_pickle is None
                   else trust_pickle)
        estimator = load_pickle_estimator(data, name=name, trusted=trusted)
        return _wrap(estimator, fmt="pickle", sha=sha, name=name)
    if suffix == ".skops" or (suffix != ".onnx" and data.startswith(b"PK\x03\x04")):
        return _wrap(load_skops_estimator(data, name=name), fmt="skops", sha=sha, name=name)
    if suffix == ".onnx" or data[:1] == b"\x08":
        runner = OnnxRunner(data, name=name)
        return AuditModel(format="onnx", sha256=sha, name=name,
                          feature_names=runner.feature_names, classes=runner.classes,
                          can_refit=False, estimator=None, runner=runner)
    raise AuditInputError(
        f"{name} is not a model file auditapp can read (extension {suffix or 'none'!r}, and the "
        "content is neither skops, ONNX nor pickle). Upload a .skops or .onnx file, or give "
        "predictions as dataset columns instead."
    )


def from_estimator(estimator, *, name: str = "in-memory model") -> AuditModel:
    """Wrap a fitted scikit-learn classifier (fitted on a DataFrame) as an :class:`AuditModel`.

    Raises :class:`AuditInputError` if it is not a fitted classifier, or does not record its
    training column names (``feature_names_in_``).
    """
    return _wrap(estimator, fmt="sklearn", sha=None, name=name)


def save_skops(estimator, path: str | os.PathLike) -> str:
    """Write ``estimator`` to ``path`` in the skops format and return the file's sha256."""
    import skops.io as sio

    data = sio.dumps(estimator)
    Path(path).write_bytes(data)
    return sha256_bytes(data)


def match_favorable_class(model: AuditModel, favorable, *, model_favorable=None) -> object:
    """Return the model's class that means the target's favourable value.

    ``favorable`` is used when it is one of ``model.classes`` (compared as values, then as
    strings, so ``"1"`` matches ``1``); otherwise ``model_favorable`` names the model's class.
    Raises :class:`AuditInputError` if neither matches a class of the model.
    """
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


def _wrap(estimator, *, fmt: str, sha: str | None, name: str) -> AuditModel:
    if not hasattr(estimator, "predict"):
        raise AuditInputError(
            f"{name} holds a {type(estimator).__name__}, not a model with a predict method. "
            "Upload a fitted scikit-learn classifier or pipeline."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise AuditInputError(
            f"{name} ({type(estimator).__name__}) is not a fitted classifier: it has no classes_. "
            "Fit it before saving, and use a classifier rather than a regressor."
        )
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


def _class_index(classes: tuple, value) -> int | None:
    """Index of ``value`` in ``classes``: same type and value, else same text, else same number."""
    value, number = _plain(value), _as_number(value)
    for same in (lambda c: type(c) is type(value) and c == value,
                 lambda c: str(c).strip() == str(value).strip(),
                 lambda c: number is not None and _as_number(c) == number):
        index = next((i for i, c in enumerate(classes) if same(c)), None)
        if index is not None:
            return index
    return None


def _as_number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _plain(value):
    """NumPy scalars → Python values, so messages and comparisons are plain."""
    return value.item() if isinstance(value, np.generic) else value


def _listed(classes) -> str:
    return ", ".join(str(_plain(c)) for c in classes)


_ONNX_DTYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
    "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(string)": object,
}


class OnnxRunner:
    """Run an ONNX classifier on DataFrame columns with onnxruntime (CPU, one thread).

    Inputs are either one tensor input per column (as skl2onnx makes for a ColumnTransformer
    pipeline, named after the columns) or one tensor holding every feature, whose column names
    come from the model's ``feature_names`` metadata (comma-separated). Classes come from the
    ``classes`` metadata or the classifier's ``classlabels_*`` attributes. Probabilities may be a
    tensor or a ZipMap sequence of maps. Pickling keeps only the bytes (the session is rebuilt).

    Converted tree ensembles compute in float32: ONNX HistGradientBoosting probabilities can differ
    from scikit-learn's by up to 0.1 where a value sits next to a split threshold.
    """

    def __init__(self, data: bytes, *, name: str):
        self.data = data
        self.name = name
        self._session = None
        session = self.session
        meta = session.get_modelmeta().custom_metadata_map
        inputs = session.get_inputs()
        if len(inputs) == 1 and not _is_column_input(inputs[0], meta):
            names = [n.strip() for n in meta.get("feature_names", "").split(",") if n.strip()]
            if not names:
                raise AuditInputError(
                    f"{name} takes all features in one tensor ({inputs[0].name!r}) but does not "
                    "say which columns they are. Add the column names, in order, as metadata: "
                    "onnx_model.metadata_props.add(key='feature_names', value='age,income,...'), "
                    "or convert with one input per column."
                )
            width = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
            if isinstance(width, int) and width != len(names):
                raise AuditInputError(
                    f"{name} takes {width} features but its feature_names metadata lists "
                    f"{len(names)}: {', '.join(names)}. Make the metadata match the input."
                )
            self.inputs = [(inputs[0].name, inputs[0].type, tuple(names))]
        else:
            self.inputs = [(i.name, i.type, (i.name,)) for i in inputs]
        self.feature_names = tuple(c for _, _, cols in self.inputs for c in cols)
        unsupported = [f"{n} ({t})" for n, t, _ in self.inputs if t not in _ONNX_DTYPES]
        if unsupported:
            raise AuditInputError(f"{name} has inputs auditapp cannot feed: "
                                  f"{', '.join(unsupported)}. Supported: {', '.join(_ONNX_DTYPES)}")
        outputs = {o.name: o.type for o in session.get_outputs()}
        self.label_output = _pick_output(outputs, ("output_label", "label"),
                                         lambda t: t in ("tensor(int64)", "tensor(string)"))
        self.proba_output = _pick_output(outputs, ("output_probability", "probabilities"),
                                         lambda t: t.startswith("seq(map") or t == "tensor(float)")
        if self.label_output is None and self.proba_output is None:
            raise AuditInputError(f"{name} has no label or probability output (outputs: "
                                  f"{', '.join(outputs)}). Convert a classifier with skl2onnx.")
        self.classes = _onnx_classes(data, meta, outputs.get(self.label_output, ""), name)

    @property
    def session(self):
        """The onnxruntime InferenceSession, built on first use."""
        if self._session is None:
            self._session = open_onnx_session(self.data, name=self.name)
        return self._session

    def __getstate__(self):
        return {**self.__dict__, "_session": None}

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Class labels for each row of ``frame``."""
        if self.label_output is None:
            proba = self.predict_proba(frame)
            return np.asarray(self.classes, dtype=object)[np.argmax(proba, axis=1)]
        (labels,) = self.session.run([self.label_output], self._feed(frame))
        labels = np.asarray(labels).ravel()
        return labels.astype(object) if labels.dtype.kind in "OUS" else labels

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Probabilities, one column per class in ``classes`` order, or None."""
        if self.proba_output is None:
            return None
        (proba,) = self.session.run([self.proba_output], self._feed(frame))
        if isinstance(proba, list):
            proba = [[row[c] for c in self.classes] for row in proba]
        proba = np.asarray(proba, dtype=np.float64).reshape(len(frame), -1)
        if proba.shape[1] != len(self.classes):
            raise AuditInputError(
                f"{self.name} returns {proba.shape[1]} probabilities per row but names "
                f"{len(self.classes)} classes ({_listed(self.classes)}). Fix its classes metadata."
            )
        return proba

    def _feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        feed = {}
        for input_name, input_type, columns in self.inputs:
            block = frame.loc[:, list(columns)]
            dtype = _ONNX_DTYPES[input_type]
            missing = [c for c in columns if block[c].isna().any()]
            if missing and dtype is not np.float32 and dtype is not np.float64:
                raise AuditInputError(
                    f"Columns {', '.join(missing)} have missing values, which {self.name} cannot "
                    f"take ({input_type}). Fill or drop those rows first."
                )
            try:
                values = (block.astype(str).to_numpy(dtype=object) if dtype is object
                          else block.to_numpy(dtype=dtype))
            except (ValueError, TypeError) as exc:
                raise AuditInputError(
                    f"Columns {', '.join(columns)} must be numbers for {self.name} "
                    f"({input_type}), but could not be converted ({exc}). Check those columns."
                ) from exc
            feed[input_name] = values
        return feed


def _is_column_input(node, meta: dict) -> bool:
    """A lone input one column wide, without feature_names metadata, is the column it is named."""
    return "feature_names" not in meta and len(node.shape) == 2 and node.shape[1] == 1


def _pick_output(outputs: dict[str, str], names: tuple[str, ...], accept) -> str | None:
    named = [n for n in names if n in outputs]
    return named[0] if named else next((n for n, t in outputs.items() if accept(t)), None)


def _onnx_classes(data: bytes, meta: dict, label_type: str, name: str) -> tuple:
    if meta.get("classes"):
        labels = [c.strip() for c in meta["classes"].split(",")]
        return tuple(int(c) for c in labels) if label_type == "tensor(int64)" else tuple(labels)
    try:  # onnx reads the graph's class labels; it is optional when metadata names them
        import onnx
    except ImportError:
        onnx = None
    if onnx is not None:
        graph = onnx.load_from_string(data).graph
        for node in sorted(graph.node, key=lambda n: n.op_type != "ZipMap"):
            for attr in node.attribute:
                if attr.name in ("classlabels_int64s", "classlabels_ints") and attr.ints:
                    return tuple(int(c) for c in attr.ints)
                if attr.name == "classlabels_strings" and attr.strings:
                    return tuple(s.decode("utf-8") for s in attr.strings)
    raise AuditInputError(
        f"{name} does not say which classes it predicts. Add them, in probability-column order, "
        "as metadata: onnx_model.metadata_props.add(key='classes', value='0,1')."
    )
