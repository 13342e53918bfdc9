"""The design matrix encoded once for the reductions, and their models put back into whole pipelines.

ExponentiatedGradient and GridSearch refit their learner tens of times and predict with every refit on
the training rows. When the learner is a pipeline, each of those fits and predictions re-encodes the same
rows (imputing, scaling, one-hot encoding) although the encoding never changes: its steps do not look at
the labels or weights the reductions vary. :func:`encode_once` fits the encoding steps once and gives the
reductions the encoded matrix and the pipeline's last step; :meth:`Encoded.whole` puts each fitted model
back behind the fitted encoding, so it takes the same columns as the user's pipeline.

The answer is the same as refitting the whole pipeline: a ``Pipeline.fit`` fits each encoding step on
the same rows (labels and weights go only to the last step, and the steps allowed here ignore labels), so
the last step sees the same matrix. Encoding steps outside ``UNSUPERVISED`` (e.g. a target encoder, which
reads the relabelled targets) are never split off: the reductions then refit the whole pipeline.

The encoding of the same rows by the same steps is also shared between candidates trained in one process
(the last ``CACHED`` encodings of up to ``CACHED_CELLS_MAX`` cells, keyed by the rows' content and the steps'
parameters): on Adult, fitting the one-hot encoding takes ~0.1 s of a 0.2 s refit, and a model process trains
three or four candidates on the same training rows. :func:`fit_whole` fits a whole pipeline that way (the reweighed and refitted learners):
the same fitted pipeline as ``learner.fit``, bit for bit, when the encoding is dense as it comes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

# Transformers whose fit reads only the feature values (never y or sample weights), with ColumnTransformer
# and Pipeline made of them.
UNSUPERVISED = frozenset({
    "SimpleImputer", "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "OneHotEncoder",
    "OrdinalEncoder", "Normalizer", "Binarizer", "KBinsDiscretizer", "PolynomialFeatures", "SplineTransformer",
    "MissingIndicator", "VarianceThreshold",
})
_CONTAINERS = frozenset({"ColumnTransformer", "Pipeline"})
# fairlearn's reductions refuse sparse features: a sparse encoding (one-hot's default) is handed to them dense up to
# this many cells (200 MB of float64); a larger one is not split off (they refit the whole pipeline, as fairlearn does).
DENSE_CELLS_MAX = 25_000_000
CACHED = 2
CACHED_CELLS_MAX = 5_000_000  # a larger encoding is not kept (a long-lived process holds at most 2 × 40 MB)
_ENCODINGS: OrderedDict[tuple[str, str], Encoded] = OrderedDict()
_ENCODINGS_LOCK = threading.Lock()


def _unsupervised(step: Any) -> bool:
    if isinstance(step, str):
        return step in ("drop", "passthrough")
    if step is None:
        return True
    kind = type(step).__name__
    if kind == "Pipeline":
        return getattr(step, "memory", None) is None and all(_unsupervised(s) for _n, s in step.steps)
    if kind == "ColumnTransformer":
        remainder = getattr(step, "remainder", "drop")
        return all(_unsupervised(t) for _n, t, _c in step.transformers) and _unsupervised(remainder)
    return kind in UNSUPERVISED and type(step).__module__.startswith("sklearn.")


@dataclass(frozen=True)
class Encoded:
    """The fitted encoding steps, the encoded training rows and the unfitted last step."""

    steps: tuple[Any, ...]  # (name, fitted transformer) pairs, or () when nothing is encoded ahead
    matrix: object  # what the last step is fitted on
    learner: object  # the unfitted last step (or the whole learner when nothing is split off)
    name: str | None  # the last step's name, None when nothing is split off
    densified: bool = False  # the encoding came out sparse and ``matrix`` is its dense copy

    @property
    def split(self) -> bool:
        return self.name is not None

    @property
    def weight_name(self) -> str | None:
        from auditapp.mitigation.learners import sample_weight_name

        return sample_weight_name(self.learner)

    def whole(self, fitted: Any) -> Any:
        """A fitted last step behind the fitted encoding: a pipeline taking the learner's own columns."""
        if not self.split:
            return fitted
        from sklearn.pipeline import Pipeline

        return Pipeline([*self.steps, (self.name, fitted)])


def encode_once(learner: Any, X: Any) -> Encoded:
    """Fit ``learner``'s encoding steps once on ``X`` when they ignore labels and weights (see the module).

    Parameters
    ----------
    learner : unfitted estimator or Pipeline
    X : DataFrame of the training rows

    Returns
    -------
    Encoded
        ``split`` False (and ``matrix`` the untouched ``X``) when the learner is not a pipeline, has a
        step that may read the labels, or encodes to a sparse matrix of more than ``DENSE_CELLS_MAX`` cells
        (a smaller sparse matrix is made dense: the same numbers, which fairlearn's reductions accept).
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    steps = getattr(learner, "steps", None)
    if type(learner).__name__ != "Pipeline" or not steps or len(steps) < 2 \
            or getattr(learner, "memory", None) is not None or not all(_unsupervised(s) for _n, s in steps[:-1]):
        return Encoded((), X, learner, None)
    name, last = steps[-1]
    prefix = Pipeline([(step_name, clone(step)) for step_name, step in steps[:-1]])
    key = _key(prefix, X)
    with _ENCODINGS_LOCK:
        kept = _ENCODINGS.get(key) if key is not None else None
    if kept is not None and not (kept.densified and getattr(kept.matrix, "size", 0) > DENSE_CELLS_MAX):
        return replace(kept, learner=clone(last), name=name)
    matrix = prefix.fit_transform(X)  # exactly what the pipeline's last step would be fitted on
    densified = hasattr(matrix, "toarray")
    if densified:  # a sparse matrix (e.g. one-hot): fairlearn's reductions take dense features
        rows, columns = matrix.shape
        if rows * columns > DENSE_CELLS_MAX:
            return Encoded((), X, learner, None)  # the whole pipeline, which takes its own sparse matrix
        matrix = matrix.toarray()
    if hasattr(matrix, "flags"):
        matrix.flags.writeable = False  # shared between candidates: nobody may change it
    encoded = Encoded(tuple(prefix.steps), matrix, clone(last), name, densified)
    if key is not None and getattr(matrix, "size", CACHED_CELLS_MAX + 1) <= CACHED_CELLS_MAX:
        with _ENCODINGS_LOCK:
            _ENCODINGS[key] = encoded
            while len(_ENCODINGS) > CACHED:
                _ENCODINGS.popitem(last=False)
    return encoded


def _key(prefix: Any, X: Any) -> tuple[str, str] | None:
    """The rows' content (values, index, columns, types) and the encoding steps' parameters, hashed; None
    when either cannot be (then nothing is shared)."""
    import joblib
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        return None
    try:
        rows = hashlib.sha256(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
        rows.update(repr([(str(c), str(t)) for c, t in X.dtypes.items()]).encode())
        return rows.hexdigest(), joblib.hash(prefix)
    except Exception:  # noqa: BLE001 - e.g. unhashable cells or steps joblib cannot pickle: not shared
        return None


def fit_whole(learner: Any, X: Any, y: Any, **fit_params: Any) -> Any:
    """``learner.fit(X, y, **fit_params)``, with the encoding fitted once per rows (:func:`encode_once`).

    ``fit_params`` are for the last step, named as a pipeline takes them (``"<last step>__sample_weight"``).
    A learner that is not split (or whose encoding comes out sparse, which the last step would have taken
    sparse) is fitted as it is.
    """
    encoded = encode_once(learner, X)
    prefix = f"{encoded.name}__"
    if not encoded.split or encoded.densified or not all(k.startswith(prefix) for k in fit_params):
        return learner.fit(X, y, **fit_params)
    last: Any = encoded.learner
    fitted = last.fit(encoded.matrix, y, **{k[len(prefix):]: v for k, v in fit_params.items()})
    return encoded.whole(fitted)
