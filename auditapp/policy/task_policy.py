"""Policies on regression and multiclass audits: criteria on the task's named criteria, presets, verdicts.

A criterion bounds one entry of a grouping's ``criteria`` table (``regression``: ``mae_ratio_worst_to_best``,
``max_abs_standardized_mean_difference``, ``max_ks_distance``, ``mean_error_gap``; ``multiclass``:
``min_impact_ratio``, ``max_class_rate_gap``, ``max_tpr_gap``, ``max_fpr_gap``, ``macro_tpr_gap``,
``macro_fpr_gap``, ``accuracy_gap``) with ``at_most`` or ``at_least``. Verdict per grouping: **pass** when the
whole interval meets the bound, **fail** when the whole interval misses it, **inconclusive** otherwise;
a criterion without an interval (KS distance, impact ratios and gaps of multiclass audits, which LL144-style
tables report as point values) is judged on its value, and the verdict says so.

Policy file (YAML or JSON)::

    name: price model
    task: regression
    criteria:
      - {criterion: mae_ratio_worst_to_best, at_most: 1.25}
      - {criterion: max_abs_standardized_mean_difference, at_most: 0.2, groupings: single}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from auditapp.core.errors import AuditInputError

__all__ = ["TaskCriterion", "TaskPolicy", "TASK_PRESETS", "load_task_policy", "evaluate_task_policy"]

CRITERIA = {
    "regression": ("mae_ratio_worst_to_best", "max_abs_standardized_mean_difference", "max_ks_distance",
                   "mean_error_gap"),
    "multiclass": ("min_impact_ratio", "max_class_rate_gap", "max_tpr_gap", "max_fpr_gap", "macro_tpr_gap",
                   "macro_fpr_gap", "accuracy_gap"),
}
_GROUPINGS = ("all", "single", "intersections")


@dataclass(frozen=True)
class TaskCriterion:
    criterion: str
    at_most: float | None = None
    at_least: float | None = None
    groupings: str = "single"
    note: str = ""

    def bound_text(self) -> str:
        return f"≤ {self.at_most:g}" if self.at_most is not None else f"≥ {self.at_least:g}"


@dataclass(frozen=True)
class TaskPolicy:
    name: str
    task: str
    criteria: tuple[TaskCriterion, ...]
    description: str = ""


def _presets() -> dict[str, TaskPolicy]:
    mae = TaskCriterion("mae_ratio_worst_to_best", at_most=1.25,
                        note="the worst group's mean absolute error is at most 25% above the best group's")
    smd2 = TaskCriterion("max_abs_standardized_mean_difference", at_most=0.2,
                         note="Cohen's convention: |d| < 0.2 is a small (negligible) difference in predictions")
    smd3 = TaskCriterion("max_abs_standardized_mean_difference", at_most=0.3,
                         note="a looser screen, |d| ≤ 0.3, used where 0.2 flags too many small differences")
    return {
        "regression-mae-ratio": TaskPolicy("regression-mae-ratio", "regression", (mae,)),
        "regression-smd-0.2": TaskPolicy("regression-smd-0.2", "regression", (smd2,)),
        "regression-smd-0.3": TaskPolicy("regression-smd-0.3", "regression", (smd3,)),
        "regression-fair": TaskPolicy("regression-fair", "regression", (mae, smd2),
                                      "MAE ratio vs best ≤ 1.25 and |SMD| ≤ 0.2"),
        "four-fifths-per-class": TaskPolicy("four-fifths-per-class", "multiclass", (
            TaskCriterion("min_impact_ratio", at_least=0.8,
                          note="every group's rate of every class is at least 4/5 of the highest group's"),)),
        "per-class-odds": TaskPolicy("per-class-odds", "multiclass", (
            TaskCriterion("max_tpr_gap", at_most=0.1), TaskCriterion("max_fpr_gap", at_most=0.1))),
    }


TASK_PRESETS = tuple(_presets())


def _criterion(task: str, item: Any, where: str) -> TaskCriterion:
    if not isinstance(item, dict):
        raise AuditInputError(f"{where} must be a mapping like {{criterion: ..., at_most: ...}}.")
    unknown = set(item) - {"criterion", "at_most", "at_least", "groupings", "note"}
    if unknown:
        raise AuditInputError(f"{where} has unknown keys {', '.join(sorted(unknown))}.")
    name = item.get("criterion")
    if name not in CRITERIA[task]:
        raise AuditInputError(f"{where}: '{name}' is not a {task} criterion. Use one of: {', '.join(CRITERIA[task])}.")
    bounds = [item.get("at_most"), item.get("at_least")]
    if sum(b is not None for b in bounds) != 1 or not all(isinstance(b, (int, float)) for b in bounds if b is not None):
        raise AuditInputError(f"{where}: give one numeric bound, at_most or at_least.")
    groupings = item.get("groupings", "single")
    if groupings not in _GROUPINGS:
        raise AuditInputError(f"{where}: groupings must be one of {', '.join(_GROUPINGS)}, got '{groupings}'.")
    at_most, at_least = (None if b is None else float(b) for b in bounds)
    return TaskCriterion(name, at_most, at_least, groupings, str(item.get("note", "")))


def load_task_policy(name_or_path: str, task: str) -> TaskPolicy:
    """A task preset by name, or a YAML/JSON policy file whose ``task`` matches ``task``."""
    presets = _presets()
    if name_or_path in presets:
        chosen = presets[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.is_file():
            names = ", ".join(p for p, v in presets.items() if v.task == task)
            raise AuditInputError(f"'{name_or_path}' is neither a {task} preset ({names}) nor a policy file that "
                                  "exists. Binary presets (four-fifths, ...) do not apply to this task.")
        import yaml

        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise AuditInputError(f"{path.name} is not valid YAML/JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("criteria"), list) or not data["criteria"]:
            raise AuditInputError(f"{path.name}: a policy needs a non-empty list 'criteria'.")
        file_task = data.get("task", task)
        if file_task not in CRITERIA:
            raise AuditInputError(f"{path.name}: task must be regression or multiclass, got '{file_task}'.")
        chosen = TaskPolicy(str(data.get("name", path.stem)), file_task, tuple(
            _criterion(file_task, c, f"{path.name}, criterion {i + 1}") for i, c in enumerate(data["criteria"])),
            str(data.get("description", "")))
    if chosen.task != task:
        raise AuditInputError(f"The policy '{chosen.name}' is for {chosen.task} audits, but this audit is {task}.")
    return chosen


def _verdict(criterion: TaskCriterion, value: float | None, low: float | None, high: float | None) -> tuple[str, str]:
    if value is None or not np.isfinite(value):
        return "inconclusive", "not computable (too few groups or rows)"
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        lo, hi, how = low, high, f"interval [{low:.3g}, {high:.3g}]"
    else:
        lo, hi, how = value, value, "point value (no interval)"
    if criterion.at_most is not None:
        state = "pass" if hi <= criterion.at_most else "fail" if lo > criterion.at_most else "inconclusive"
    elif criterion.at_least is not None:
        state = "pass" if lo >= criterion.at_least else "fail" if hi < criterion.at_least else "inconclusive"
    else:  # every task criterion has a bound (checked when it is read)
        return "inconclusive", "the criterion has no bound"
    return state, how


def load_task_policy_dict(data: Any, task: str) -> TaskPolicy:
    """The policy a task record carries (its ``policy``), checked as a policy file is (``auditapp verify``)."""
    if not isinstance(data, dict) or not isinstance(data.get("criteria"), list) or not data["criteria"]:
        raise AuditInputError("The record's policy has no list of criteria, so its verdicts cannot be checked again.")
    if data.get("task", task) != task:
        raise AuditInputError(f"The record's policy is for {data.get('task')} audits, but the record is a {task} audit.")
    return TaskPolicy(str(data.get("name", "policy")), task, tuple(
        _criterion(task, c, f"the record's policy, criterion {i + 1}") for i, c in enumerate(data["criteria"])),
        str(data.get("description", "")))


def evaluate_task_policy(result: Any, policy: TaskPolicy) -> dict[str, Any]:
    """Verdicts of ``policy`` on a regression/multiclass result: ``{"policy", "overall", "checks"}``."""
    checks = []
    for criterion in policy.criteria:
        for grouping in result.groupings:
            size = len(grouping.features)
            if (criterion.groupings == "single" and size > 1) or (criterion.groupings == "intersections" and size == 1):
                continue
            row = grouping.criteria.loc[criterion.criterion]
            low, high = (row.get("low"), row.get("high")) if "low" in row.index else (None, None)
            state, how = _verdict(criterion, float(row["value"]), low, high)
            checks.append({"criterion": criterion.criterion, "bound": criterion.bound_text(),
                           "features": list(grouping.features), "value": None if np.isnan(row["value"]) else
                           float(row["value"]), "verdict": state, "judged_on": how, "note": criterion.note})
    states = {c["verdict"] for c in checks}
    overall = "fail" if "fail" in states else "inconclusive" if ("inconclusive" in states or not checks) else "pass"
    return {"policy": {"name": policy.name, "task": policy.task, "description": policy.description,
                       "criteria": [c.__dict__ for c in policy.criteria]}, "overall": overall, "checks": checks}


def format_verdicts(verdicts: dict[str, Any]) -> str:
    lines = [f"Policy {verdicts['policy']['name']}: {verdicts['overall'].upper()}"]
    for c in verdicts["checks"]:
        value = "n/a" if c["value"] is None else f"{c['value']:.3f}"
        lines.append(f"  {c['verdict']:<12} {c['criterion']} {c['bound']} on {' × '.join(c['features'])}: "
                     f"{value} ({c['judged_on']})")
    return "\n".join(lines)
