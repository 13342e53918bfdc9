"""Run an ONNX classifier on DataFrame columns with onnxruntime (CPU, one thread).

Used where model files are opened: inside the sandboxed model process for uploads and the command line
(:mod:`auditapp.inputs.sandbox_tasks`), or in auditapp's own process only for files auditapp wrote itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.inputs.allowlist import open_onnx_session


def _listed(classes: Sequence[Any]) -> str:
    return ", ".join(str(c.item() if isinstance(c, np.generic) else c) for c in classes)


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
    def has_proba(self) -> bool:
        return self.proba_output is not None

    @property
    def session(self) -> Any:
        """The onnxruntime InferenceSession, built on first use."""
        if self._session is None:
            self._session = open_onnx_session(self.data, name=self.name)
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_session": None}

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Class labels for each row of ``frame``."""
        if self.label_output is None:
            proba = self.predict_proba(frame)
            if proba is None:
                raise AuditInputError(f"The ONNX model {self.name} gives neither labels nor probabilities.")
            result: np.ndarray = np.asarray(self.classes, dtype=object)[np.argmax(proba, axis=1)]
            return result
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


def _is_column_input(node: Any, meta: dict[str, Any]) -> bool:
    """A lone input one column wide, without feature_names metadata, is the column it is named."""
    return "feature_names" not in meta and len(node.shape) == 2 and node.shape[1] == 1


def _pick_output(outputs: dict[str, str], names: tuple[str, ...], accept: Callable[[str], bool]) -> str | None:
    named = [n for n in names if n in outputs]
    return named[0] if named else next((n for n, t in outputs.items() if accept(t)), None)


def _onnx_classes(data: bytes, meta: dict[str, Any], label_type: str, name: str) -> tuple[Any, ...]:
    if meta.get("classes"):
        labels = [c.strip() for c in meta["classes"].split(",")]
        return tuple(int(c) for c in labels) if label_type == "tensor(int64)" else tuple(labels)
    onnx: Any
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
