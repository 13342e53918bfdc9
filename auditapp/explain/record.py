"""The JSON form of an explanation (what ``auditapp explain --json`` writes)."""

from __future__ import annotations

from typing import Any

from auditapp.explain.core import Explanation
from auditapp.explain.proxies import proxy_record
from auditapp.reporting.record import clean

SCHEMA = "auditapp.explain/1"


def _ci(low: object, high: object) -> list[Any]:
    return [clean(low), clean(high)]


def explanation_record(explanation: Explanation) -> dict[str, Any]:
    """JSON-ready dict: importance, importance by group, gaps, proxies, the local row, the sample.

    Every number is a plain Python value; NaN (no bootstrap) becomes null.
    """
    attributions = explanation.attributions
    shap_values = explanation.shap
    groups = attributions.groups
    attributes = {}
    for _, row in groups.iterrows():
        features = row["grouping"].split(" × ")
        attributes[(row["grouping"], row["group"])] = {f: str(row[f]) for f in features}
    importance = [{"feature": feature, "mean_abs_shap": clean(row["mean_abs_shap"]),
                   "ci": _ci(row["low"], row["high"])}
                  for feature, row in attributions.importance.iterrows()]
    by_group = [{"attributes": attributes[(row["grouping"], row["group"])], "feature": row["feature"],
                 "mean_abs_shap": clean(row["mean_abs_shap"]), "ci": _ci(row["low"], row["high"])}
                for _, row in attributions.importance_by_group.iterrows()]
    gaps = [{"grouping": list(gap.grouping), "group": gap.attributes, "reference": gap.reference_attributes,
             "mean_group": clean(gap.mean_group), "mean_reference": clean(gap.mean_reference),
             "total": clean(gap.total), "ci": _ci(gap.total_low, gap.total_high),
             "contributions": [{"feature": feature, "value": clean(row["value"]),
                                "ci": _ci(row["low"], row["high"])}
                               for feature, row in gap.contributions.iterrows()]}
            for gap in attributions.gaps]
    proxies = proxy_record(explanation.proxies)
    local = explanation.local
    sample = explanation.sample
    return {
        "schema": SCHEMA,
        "explainer": shap_values.method,
        "output_space": shap_values.output_label,
        "base_value": clean(shap_values.base_value),
        "mean_output": clean(attributions.mean_output),
        "importance": importance,
        "importance_by_group": by_group,
        "groups": [{"attributes": attributes[(row["grouping"], row["group"])],
                    "n_sample": int(row["n_sample"]), "n_rows": int(row["n_rows"]),
                    "mean_output": clean(row["mean_output"]),
                    "ci": _ci(row["mean_output_low"], row["mean_output_high"])}
                   for _, row in groups.iterrows()],
        "gap": gaps,
        **proxies,
        "local": None if local is None else {
            "row": clean(local.row), "base_value": clean(local.base_value),
            "output": clean(local.output),
            "contributions": [{"feature": feature, "value": row["value"], "shap": clean(row["shap"])}
                              for feature, row in local.contributions.iterrows()]},
        "sample": {"rows_per_group": sample.rows_per_group, "seed": sample.seed,
                   "rows": sample.n_rows, "population_rows": int(sample.cell_sizes.sum()),
                   "n_boot": attributions.n_boot, "confidence": attributions.confidence,
                   "additivity_error": clean(shap_values.additivity_error)},
        "notices": list(explanation.notices),
    }
