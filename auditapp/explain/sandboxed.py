"""SHAP explanations of a model file that runs in its sandbox.

The explainer is built and run inside the model process, by the same code as for a model in this process
(``shap_values.explainer_from_backgrounds``), on the same seeded background rows, which are chosen here
and sent along. What comes back is numbers only: SHAP values, base value, outputs, their space and the
method, checked by :class:`~auditapp.inputs.sandboxed_model.SandboxedModel` before they become a
:class:`~auditapp.explain.shap_values.ShapValues`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from auditapp.explain.shap_values import ShapValues


def _key(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes())
            digest.update(repr(list(part.dtypes.astype(str))).encode())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class SandboxExplainer:
    """Explains rows with the explainer the model process built (``method``: tree, linear, permutation).

    ``background`` holds the model-agnostic explainer's background rows (what its notice counts).
    """

    model: Any
    positive_class: object
    method: str
    linear_background: pd.DataFrame
    background: pd.DataFrame
    background_size: int
    n_permutations: int
    seed: int

    @classmethod
    def build(cls, model: Any, positive_class: Any, linear: pd.DataFrame, permutation: pd.DataFrame, *,
              background_size: int, n_permutations: int, seed: int) -> SandboxExplainer:
        """Ask the model process which explainer it builds for these rows and settings."""
        explainer = cls(model, positive_class, "", linear, permutation, int(background_size), int(n_permutations),
                        int(seed))
        return replace(explainer, method=model.runner.explainer_method(explainer._args(None)))

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.model.feature_names)

    def with_model(self, model: Any) -> SandboxExplainer:
        """The same explainer bound to ``model`` as loaded in this process and session."""
        return replace(self, model=model)

    def _args(self, rows: pd.DataFrame | None) -> dict[str, Any]:
        key = _key(self.positive_class, self.background_size, self.n_permutations, self.seed,
                   self.linear_background, self.background)
        args = {"key": key, "positive_class": self.positive_class, "linear_background": self.linear_background,
                "permutation_background": self.background, "background_size": self.background_size,
                "n_permutations": self.n_permutations, "seed": self.seed}
        if rows is not None:
            args["rows"] = rows
        return args

    def explain(self, rows: pd.DataFrame) -> ShapValues:
        """SHAP values of ``rows`` (a DataFrame with the model's columns) in the dataset's columns."""
        raw = rows.loc[:, list(self.features)]
        answer = self.model.runner.explain(self._args(raw))
        return ShapValues(self.features, answer["values"], answer["base_value"], answer["output"],
                          answer["output_space"], self.positive_class, answer["method"], raw)
