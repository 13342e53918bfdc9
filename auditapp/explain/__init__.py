"""Explanations: SHAP in the dataset's own columns, importance by group, gap attribution, proxies.

``explain_model(frame, spec, model)`` runs everything the Explanations page shows; the parts are
usable on their own (``stratified_sample``, ``build_explainer``, ``attribute``,
``local_explanation``, ``dependence_data``, ``detect_proxies``). shap is imported only when an
explainer is built.
"""

from auditapp.core.callable_module import make_callable
from auditapp.explain.attribution import (
    Attributions,
    GapAttribution,
    Grouping,
    LocalExplanation,
    attribute,
    dependence_data,
    local_explanation,
)
from auditapp.explain.core import Explanation, explain_model
from auditapp.explain.explainers import build_explainer
from auditapp.explain.permutation import permutation_shapley
from auditapp.explain.proxies import ProxyReport, detect_proxies
from auditapp.explain.record import SCHEMA, explanation_record
from auditapp.explain.sampling import StratifiedSample, stratified_sample
from auditapp.explain.shap_values import ModelExplainer, ShapValues

__all__ = [
    "SCHEMA", "Attributions", "Explanation", "GapAttribution", "Grouping", "LocalExplanation",
    "ModelExplainer", "ProxyReport", "ShapValues", "StratifiedSample", "attribute",
    "build_explainer", "dependence_data", "detect_proxies", "explain_model", "explanation_record",
    "local_explanation", "permutation_shapley", "stratified_sample",
]

make_callable(__name__)  # ``from auditapp import explain`` is this package: calling it is ``auditapp.api.explain``
