"""The gap between any two groups of one grouping, attributed to features (not only vs the reference).

``explain_model`` attributes each group's gap against its reference group. A reviewer often wants
another pair (black vs hispanic, female & black vs male & asian). The same identity holds for any
pair a, b: mean output over a − mean output over b equals the sum over features of (mean SHAP over
a − mean SHAP over b), exactly, because every row's output is the base value plus its attributions
and each group's weights sum to one. Means are population means from the stratified sample, and
the intervals come from the same within-cell bootstrap as the other numbers of the explanation
(same seed and replicates, so the pair (a, reference) reproduces the engine's own gap exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.explain.attribution import GapAttribution, _members
from auditapp.explain.attribution import _attributes_of as _attributes
from auditapp.explain.sampling import StratifiedSample, cell_means, group_weights, interval
from auditapp.explain.shap_values import ShapValues


def group_labels(sample: StratifiedSample, features: tuple[str, ...]) -> list[str]:
    """The groups of a grouping that have sampled rows, sorted (``"female & black"`` for intersections).

    Parameters
    ----------
    sample : StratifiedSample
    features : tuple of str
        The grouping's sensitive features, e.g. ``("sex",)`` or ``("sex", "ethnicity")``.

    Raises
    ------
    AuditInputError
        If a feature is not one of the sample's sensitive features.
    """
    return list(_members(sample, _checked_features(sample, features)))


def pair_gap(shap_values: ShapValues, sample: StratifiedSample, *, features: tuple[str, ...],
             group: str, other: str, n_boot: int = 200, confidence: float = 0.95,
             seed: int = 0) -> GapAttribution:
    """Attribute the gap in mean model output between ``group`` and ``other`` to the features.

    Parameters
    ----------
    shap_values : ShapValues
        Attributions of the sampled rows, in the order of ``sample.positions``.
    sample : StratifiedSample
        The stratified sample the rows come from.
    features : tuple of str
        The grouping: one sensitive feature or an intersection.
    group, other : str
        Two different groups of that grouping (labels as in :func:`group_labels`). The gap is
        ``mean(group) − mean(other)``; ``other`` is reported as the ``reference`` of the result.
    n_boot : int, default 200
        Bootstrap replicates for the intervals (0 for none: the intervals are NaN).
    confidence : float, default 0.95
    seed : int, default 0
        Bootstrap seed; the explanation's own seed reproduces its intervals.

    Returns
    -------
    GapAttribution
        ``total == contributions["value"].sum()``; contributions sorted by absolute value.

    Raises
    ------
    AuditInputError
        If the grouping is unknown, a group has no sampled rows, or the two groups are the same.
    """
    features = _checked_features(sample, features)
    members = _members(sample, features)
    for label in (group, other):
        if label not in members:
            raise AuditInputError(
                f"'{label}' is not a group of {' × '.join(features)} with sampled rows; the groups are: "
                f"{', '.join(members)}. Pick two of those."
            )
    if group == other:
        raise AuditInputError(
            f"Both groups are '{group}', so there is no gap to explain. Pick two different groups."
        )
    names = list(shap_values.features)
    p = len(names)
    values = np.column_stack([shap_values.values, shap_values.output])
    means, reps = cell_means(sample, values, n_boot=int(n_boot), seed=int(seed))
    w_group = group_weights(sample, members[group])
    w_other = group_weights(sample, members[other])
    weights = w_group - w_other
    point = weights @ means
    low, high = interval(np.einsum("c,bck->bk", weights, reps), confidence)
    contributions = pd.DataFrame({"value": point[:p], "low": low[:p], "high": high[:p]},
                                 index=pd.Index(names, name="feature"))
    order = np.argsort(-np.abs(contributions["value"].to_numpy()), kind="stable")
    return GapAttribution(
        grouping=features, group=group, reference=other,
        attributes=_attributes(sample, features, members[group]),
        reference_attributes=_attributes(sample, features, members[other]),
        mean_group=float(w_group @ means[:, -1]), mean_reference=float(w_other @ means[:, -1]),
        total=float(point[-1]), total_low=float(low[-1]), total_high=float(high[-1]),
        contributions=contributions.iloc[order], output_space=shap_values.output_label,
    )


def explanation_pair_gap(explanation: Any, *, grouping: str | Sequence[str], group: str,
                         other: str) -> GapAttribution:
    """:func:`pair_gap` for an ``Explanation``, with its own bootstrap size, confidence and seed.

    Parameters
    ----------
    explanation : auditapp.explain.Explanation
    grouping : str or tuple of str
        ``"sex × ethnicity"`` (the name shown in the app) or ``("sex", "ethnicity")``.
    group, other : str
        The two groups; the gap is ``mean(group) − mean(other)``.

    Raises
    ------
    AuditInputError
        As :func:`pair_gap`.
    """
    features = tuple(grouping.split(" × ")) if isinstance(grouping, str) else tuple(grouping)
    attributions = explanation.attributions
    return pair_gap(explanation.shap, explanation.sample, features=features, group=group, other=other,
                    n_boot=attributions.n_boot, confidence=attributions.confidence,
                    seed=explanation.sample.seed)


def _checked_features(sample: StratifiedSample, features: Sequence[str]) -> tuple[str, ...]:
    names = tuple(str(f) for f in features)
    known = [str(c) for c in sample.cell_labels.columns]
    unknown = [f for f in names if f not in known]
    if not names or unknown:
        raise AuditInputError(
            f"{', '.join(repr(f) for f in unknown) or 'No feature'} is not a sensitive feature of this "
            f"explanation; choose from: {', '.join(known)}."
        )
    return names

