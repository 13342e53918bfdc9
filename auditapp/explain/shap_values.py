"""SHAP values in the dataset's own columns, with the explainer chosen from the model.

- Tree ensembles (scikit-learn forests, gradient boosting, histogram gradient boosting, XGBoost,
  LightGBM): ``shap.TreeExplainer`` on the final estimator. Boosting explains the log-odds of the
  favourable class, forests its probability; which one is checked against the model's own output.
- Logistic regression: ``shap.LinearExplainer`` (log-odds), background from the data.
- Regressors (``positive_class`` None): the same explainers on the prediction itself (tree ensembles and
  linear models exactly, anything else by permutation). A multiclass classifier is explained on the chosen
  class's probability by permutation (its trees and linear models work in other spaces per class).
- Anything else, ONNX included, or a pipeline whose encoded columns cannot be traced back to the
  dataset's columns: permutation Shapley values of the model's probability for the favourable
  class, over the raw columns, against a small seeded background sample (see ``permutation``).

A model file that runs in its sandbox is explained there, by this same code, on the rows sent to it
(``auditapp.explain.sandboxed``).

Pipelines are explained on the transformed data and the encoded columns' attributions are summed
back to their source column (``columns.source_matrix``); additivity is kept exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.explain.columns import source_matrix
from auditapp.explain.permutation import permutation_shapley

TREE_MODELS = frozenset({
    "RandomForestClassifier", "ExtraTreesClassifier", "GradientBoostingClassifier",
    "HistGradientBoostingClassifier", "DecisionTreeClassifier", "ExtraTreeClassifier",
    "XGBClassifier", "LGBMClassifier",
})
LINEAR_MODELS = frozenset({"LogisticRegression", "LogisticRegressionCV"})
TREE_REGRESSORS = frozenset({
    "RandomForestRegressor", "ExtraTreesRegressor", "GradientBoostingRegressor", "HistGradientBoostingRegressor",
    "DecisionTreeRegressor", "ExtraTreeRegressor", "XGBRegressor", "LGBMRegressor",
})
LINEAR_REGRESSORS = frozenset({"LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet",
                               "ElasticNetCV", "HuberRegressor", "BayesianRidge"})
LOG_ODDS = "log-odds"
PROBABILITY = "probability"
PREDICTION = "prediction"  # a regressor's output, in the outcome's units
OUTPUT_SPACES = (LOG_ODDS, PROBABILITY, PREDICTION)


@dataclass(frozen=True)
class ShapValues:
    """Attributions of rows in the dataset's columns.

    ``values[i, j]`` is feature ``features[j]``'s contribution to row ``i``; for every row
    ``base_value + values[i].sum() == output[i]``, the model's own output in ``output_space``
    (``"log-odds"`` or ``"probability"`` of ``positive_class``, or a regressor's ``"prediction"``, its
    ``positive_class`` None). ``data`` holds the rows' raw feature values, indexed like the dataset.
    """

    features: tuple[str, ...]
    values: np.ndarray
    base_value: float
    output: np.ndarray
    output_space: str
    positive_class: object
    method: str
    data: pd.DataFrame
    output_name: str | None = None  # what the output is, when not a favourable class's (one class of several)

    @property
    def output_label(self) -> str:
        if self.output_name is not None:
            return self.output_name
        if self.positive_class is None:
            return "predicted value"
        return f"{self.output_space} of the favourable class ({self.positive_class})"

    @property
    def additivity_error(self) -> float:
        """Largest |base + Σ attributions − model output| over the rows."""
        if self.values.shape[0] == 0:
            return 0.0
        return float(np.abs(self.base_value + self.values.sum(axis=1) - self.output).max())


@dataclass(frozen=True, eq=False)
class ModelExplainer:
    """A fitted SHAP explainer for one model, usable on any rows of the dataset.

    Build it with :func:`build_explainer`; call :meth:`explain` on a DataFrame of rows.
    """

    model: Any  # an AuditModel (its estimator in this process)
    positive_class: Any
    method: str
    explainer: Any  # shap's explainer, None for permutation
    preprocess: Any  # the fitted steps before the final estimator, or None
    sources: np.ndarray | None
    background: pd.DataFrame | None
    n_permutations: int
    seed: int

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.model.feature_names)

    def with_model(self, model: Any) -> ModelExplainer:
        """The same explainer bound to ``model`` (the same model, as loaded in another process)."""
        return self

    def explain(self, rows: pd.DataFrame) -> ShapValues:
        """SHAP values of ``rows`` (a DataFrame with the model's columns) in the dataset's columns."""
        raw = rows.loc[:, list(self.features)]
        if self.method == "permutation":
            values, base, output = permutation_shapley(
                self._probability, raw, self.background, n_permutations=self.n_permutations,
                seed=self.seed)
            return ShapValues(self.features, values, base, output,
                              PREDICTION if self.positive_class is None else PROBABILITY,
                              self.positive_class, self.method, raw)
        encoded = self._encoded(raw)
        explanation = self.explainer(encoded)
        values, base, space, output = self._select_output(explanation, encoded)
        if self.sources is not None:
            values = values @ self.sources
        return ShapValues(self.features, values, base, output, space, self.positive_class,
                          self.method, raw)

    def _encoded(self, raw: pd.DataFrame) -> np.ndarray:
        if self.preprocess is None:
            return np.asarray(raw.to_numpy(dtype=np.float64), dtype=np.float64)
        encoded = self.preprocess.transform(raw)
        if hasattr(encoded, "toarray"):
            encoded = encoded.toarray()
        return np.asarray(encoded, dtype=np.float64)

    def _probability(self, frame: pd.DataFrame) -> np.ndarray:
        if self.positive_class is None:  # a regressor: its prediction
            return np.asarray(self.model.predict(frame), dtype=np.float64)
        scores = self.model.score(frame, self.positive_class)
        if scores is None:
            # No probabilities (e.g. an SVM without them): explain the 0/1 favourable decision.
            labels = np.asarray(self.model.predict(frame))
            return np.array([str(v) == str(self.positive_class) for v in labels], dtype=np.float64)
        return np.asarray(scores, dtype=np.float64)

    def _select_output(self, explanation: Any, encoded: np.ndarray) -> tuple[np.ndarray, float, str, np.ndarray]:
        """Pick the favourable class's output and check which space the explainer worked in."""
        estimator = _final(self.model.estimator)
        if self.positive_class is None:  # a regressor: one output, the prediction
            values = np.asarray(explanation.values, dtype=np.float64)
            base = np.asarray(explanation.base_values, dtype=np.float64).reshape(-1)
            base_value = float(base[0]) if base.size else float(np.ravel(self.explainer.expected_value)[0])
            predicted = np.asarray(estimator.predict(_as_input(estimator, encoded)), dtype=np.float64).ravel()
            return values, base_value, PREDICTION, predicted
        classes = [str(c) for c in np.asarray(estimator.classes_).tolist()]
        k = classes.index(str(self.positive_class))
        values = np.asarray(explanation.values, dtype=np.float64)
        base = np.asarray(explanation.base_values, dtype=np.float64)
        if values.ndim == 3:
            values, base = values[:, :, k], base.reshape(len(values), -1)[:, k]
        elif k == 0:
            # A single output explains classes_[1]; the other class's log-odds are its negative.
            values, base = -values, -base
        base = base.reshape(-1)
        base_value = float(base[0]) if base.size else float(np.ravel(self.explainer.expected_value)[0])
        inputs = _as_input(estimator, encoded)
        candidates = {}
        if hasattr(estimator, "decision_function") and len(classes) == 2:
            margin = np.asarray(estimator.decision_function(inputs), dtype=np.float64).ravel()
            candidates[LOG_ODDS] = margin if k == 1 else -margin
        if hasattr(estimator, "predict_proba"):
            candidates[PROBABILITY] = np.asarray(estimator.predict_proba(inputs))[:, k]
        reconstructed = base_value + values.sum(axis=1)
        space = min(candidates, key=lambda s: float(np.abs(candidates[s] - reconstructed).max(initial=0)))
        return values, base_value, space, candidates[space]


def background_rows(raw: pd.DataFrame, *, background_size: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seeded background rows of the linear (``background_size``) and the model-agnostic (at most 50)
    explainers: each the first draw of ``np.random.default_rng(seed)``."""
    linear = raw.iloc[_pick(np.random.default_rng(seed), len(raw), background_size)]
    permutation = raw.iloc[_pick(np.random.default_rng(seed), len(raw), min(background_size, 50))]
    return linear, permutation


def explainer_from_backgrounds(model: Any, linear: pd.DataFrame, permutation: pd.DataFrame, positive_class: Any, *,
                               background_size: int, n_permutations: int, seed: int) -> ModelExplainer:
    """The explainer for a model in this process, given the background rows of :func:`background_rows`."""
    import shap

    estimator = model.estimator
    final = _final(estimator)
    preprocess = estimator[:-1] if hasattr(estimator, "steps") and len(estimator.steps) > 1 else None
    kind = type(final).__name__ if final is not None else ""
    regressor = positive_class is None
    binary = final is not None and len(getattr(final, "classes_", ())) == 2 and not regressor
    trees = TREE_REGRESSORS if regressor else TREE_MODELS
    linears = LINEAR_REGRESSORS if regressor else LINEAR_MODELS
    simple = regressor or binary  # one output to explain (a multiclass model goes by permutation)
    sources = None
    if preprocess is not None and kind in trees | linears:
        sources = source_matrix(preprocess, tuple(model.feature_names))
    traceable = preprocess is None or sources is not None
    if simple and traceable and kind in trees and _numeric_ready(linear, preprocess):
        return ModelExplainer(model, positive_class, "tree", shap.TreeExplainer(final), preprocess,
                              sources, None, n_permutations, int(seed))
    if simple and traceable and kind in linears and _numeric_ready(linear, preprocess):
        encoded = preprocess.transform(linear) if preprocess is not None else linear.to_numpy(float)
        if hasattr(encoded, "toarray"):
            encoded = encoded.toarray()
        masker = shap.maskers.Independent(np.asarray(encoded, dtype=np.float64),
                                          max_samples=background_size)
        return ModelExplainer(model, positive_class, "linear", shap.LinearExplainer(final, masker),
                              preprocess, sources, None, n_permutations, int(seed))
    return ModelExplainer(model, positive_class, "permutation", None, None, None, permutation,
                          int(n_permutations), int(seed))


def _final(estimator: Any) -> Any:
    if estimator is None:
        return None
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _as_input(estimator: Any, encoded: np.ndarray) -> Any:
    """Give the estimator column names when it was fitted with them (else sklearn warns)."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or len(names) != encoded.shape[1]:
        return encoded
    return pd.DataFrame(encoded, columns=list(names))


def _numeric_ready(raw: pd.DataFrame, preprocess: Any) -> bool:
    """Without preprocessing, tree and linear explainers need numeric columns."""
    if preprocess is not None:
        return True
    return all(pd.api.types.is_numeric_dtype(raw[c]) for c in raw.columns)


def _pick(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return np.sort(rng.choice(n, size=min(n, size), replace=False))
