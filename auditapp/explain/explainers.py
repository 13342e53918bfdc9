"""Choose the explainer for a model: in this process, or inside the model's sandbox.

The one place that knows both kinds (:mod:`auditapp.explain.shap_values` and
:mod:`auditapp.explain.sandboxed`), so neither imports the other back.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditapp.explain.sandboxed import SandboxExplainer
from auditapp.explain.shap_values import background_rows, explainer_from_backgrounds

__all__ = ["build_explainer"]


def build_explainer(model: Any, frame: pd.DataFrame, positive_class: Any, *, background_size: int = 100,
                    n_permutations: int = 10, seed: int = 0) -> Any:
    """Choose and fit a SHAP explainer for ``model`` (an ``AuditModel``).

    Parameters
    ----------
    model : auditapp.inputs.models.AuditModel
        The model; ``model.estimator`` is the scikit-learn object, or None (ONNX, or a model file in
        its sandbox, which is then explained inside the sandbox by the same code).
    frame : DataFrame
        The dataset; a seeded sample of ``background_size`` rows is the background where one is
        needed (linear and model-agnostic explainers).
    positive_class : object
        The model class whose output is explained (see ``models.match_favorable_class``).
    background_size : int, default 100
        Background rows (model-agnostic explanations use at most 50, for speed).
    n_permutations : int, default 10
        Permutations per row for model-agnostic explanations (half of them reversed).
    seed : int, default 0
        Seed for the background sample and the permutations.

    Returns
    -------
    ModelExplainer or auditapp.explain.sandboxed.SandboxExplainer
        Both have ``method``, ``features``, ``background`` and ``explain(rows)``.
    """
    raw = frame.loc[:, list(model.feature_names)]
    linear, permutation = background_rows(raw, background_size=background_size, seed=seed)
    if model.sandboxed:
        return SandboxExplainer.build(model, positive_class, linear, permutation, background_size=background_size,
                                      n_permutations=n_permutations, seed=seed)
    return explainer_from_backgrounds(model, linear, permutation, positive_class, background_size=background_size,
                                      n_permutations=n_permutations, seed=seed)
