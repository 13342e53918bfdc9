"""Risk-tolerance policies: named lists of criteria that an audit must meet.

A ``Criterion`` says which number to check and where it must lie:

- ``metric``: one of ``rates.METRICS`` (selection rate, true positive rate, ...);
- ``measure``: ``"rate"`` (the group's own rate), ``"difference"`` or ``"ratio"``;
- ``scope``: what the group is compared with. ``"group"`` (a rate on its own), ``"reference"``
  (each group against its grouping's reference group), ``"vs_best"`` (each group against the group
  with the highest value of the metric, as in the four-fifths rule) or ``"spread"`` (max−min or
  min÷max across the groups of a grouping);
- ``at_least`` / ``at_most``: the bounds (one or both). A difference "gap at most 0.1" against a
  reference is ``at_least=-0.1, at_most=0.1``;
- ``min_group_size``: groups with fewer rows are "not evaluable" for this criterion;
- ``required``: a required criterion decides the overall verdict, a monitored one is only reported;
- ``groupings``: ``"all"``, ``"single"`` (each sensitive feature alone) or ``"intersections"``.

Policies are built in code, taken from the presets (``four-fifths``, ``ratio-band``,
``equalized-odds``, ``strict``) or read from YAML/JSON files, which are validated with messages that
name the field at fault and the values it allows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditapp.core.defaults import MIN_GROUP_SIZE
from auditapp.core.errors import AuditInputError
from auditapp.core.rates import METRICS

MEASURES = ("rate", "difference", "ratio")
SCOPES = ("group", "reference", "vs_best", "spread")
GROUPINGS = ("all", "single", "intersections")
_CRITERION_KEYS = ("name", "metric", "measure", "scope", "at_least", "at_most", "min_group_size",
                   "required", "groupings")
_POLICY_KEYS = ("name", "description", "criteria")
_SCOPE_WORDS = {"group": "", "reference": " vs reference", "vs_best": " vs highest group",
                "spread": " across groups"}


@dataclass(frozen=True)
class Criterion:
    """One check of a policy (see the module docstring for the meaning of each field)."""

    metric: str
    measure: str = "ratio"
    scope: str = "reference"
    at_least: float | None = None
    at_most: float | None = None
    min_group_size: int = MIN_GROUP_SIZE
    required: bool = True
    groupings: str = "all"
    name: str = ""

    def __post_init__(self) -> None:
        where = f"Criterion '{self.name}'" if self.name else "A criterion"
        _choice(where, "metric", self.metric, METRICS)
        _choice(where, "measure", self.measure, MEASURES)
        _choice(where, "scope", self.scope, SCOPES)
        _choice(where, "groupings", self.groupings, GROUPINGS)
        if (self.measure == "rate") != (self.scope == "group"):
            raise AuditInputError(
                f"{where} has measure '{self.measure}' with scope '{self.scope}'. A rate is checked on "
                "its own (scope 'group'); differences and ratios compare groups (scope 'reference', "
                "'vs_best' or 'spread')."
            )
        bounds = {}
        for key in ("at_least", "at_most"):
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise AuditInputError(
                    f"{where}: '{key}' must be a finite number, got {value!r}. Write e.g. {key}: 0.8."
                )
            bounds[key] = float(value)
            object.__setattr__(self, key, float(value))
        if not bounds:
            raise AuditInputError(
                f"{where} has no bound. Give 'at_least', 'at_most' or both (e.g. at_least: 0.8)."
            )
        if len(bounds) == 2 and bounds["at_least"] > bounds["at_most"]:
            raise AuditInputError(
                f"{where}: 'at_least' ({bounds['at_least']:g}) is above 'at_most' "
                f"({bounds['at_most']:g}), so nothing could pass. Swap them."
            )
        if isinstance(self.min_group_size, bool) or not isinstance(self.min_group_size, int) \
                or self.min_group_size < 1:
            raise AuditInputError(
                f"{where}: 'min_group_size' must be a whole number of at least 1, got "
                f"{self.min_group_size!r}."
            )
        if not isinstance(self.required, bool):
            raise AuditInputError(
                f"{where}: 'required' must be true or false, got {self.required!r}."
            )
        if not self.name:
            object.__setattr__(self, "name", default_name(self))

    @property
    def bound_text(self) -> str:
        """The bounds in words, e.g. ``"at least 0.8"`` or ``"between -0.1 and 0.1"``."""
        if self.at_least is not None and self.at_most is not None:
            return f"between {self.at_least:g} and {self.at_most:g}"
        if self.at_least is not None:
            return f"at least {self.at_least:g}"
        return f"at most {self.at_most:g}"


@dataclass(frozen=True)
class Policy:
    """A named list of criteria."""

    name: str
    criteria: tuple[Criterion, ...]
    description: str = ""

    def __post_init__(self) -> None:
        criteria = tuple(self.criteria)
        object.__setattr__(self, "criteria", criteria)
        if not str(self.name).strip():
            raise AuditInputError("A policy needs a name (e.g. name: hiring release gate).")
        if not criteria:
            raise AuditInputError(f"Policy '{self.name}' has no criteria. Add at least one criterion.")
        names = [c.name for c in criteria]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise AuditInputError(
                f"Policy '{self.name}' has several criteria named {', '.join(map(repr, repeated))}. "
                "Give each criterion its own name."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (what ``dump_policy`` writes and the audit record stores)."""
        return {"name": self.name, "description": self.description,
                "criteria": [asdict(c) for c in self.criteria]}


def default_name(criterion: Criterion) -> str:
    """A readable name from a criterion's fields, e.g. ``"selection_rate ratio vs highest group"``."""
    return f"{criterion.metric} {criterion.measure}{_SCOPE_WORDS[criterion.scope]}"


def _choice(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise AuditInputError(
            f"{where}: '{key}' is {value!r}; allowed values: {', '.join(allowed)}."
        )


def _ratio_band(metric: str) -> Criterion:
    return Criterion(metric=metric, measure="ratio", scope="reference", at_least=0.8, at_most=1.25,
                     name=f"{metric} ratio to reference")


def _presets() -> dict[str, Policy]:
    return {
        "four-fifths": Policy(
            name="four-fifths",
            description="The EEOC four-fifths rule: every group's selection rate is at least 0.8 of "
                        "the highest group's selection rate.",
            criteria=(Criterion(metric="selection_rate", measure="ratio", scope="vs_best",
                                at_least=0.8, name="four-fifths rule"),),
        ),
        "ratio-band": Policy(
            name="ratio-band",
            description="As Aequitas does: each group's rates within 0.8–1.25 times the reference "
                        "group's.",
            criteria=tuple(_ratio_band(m) for m in (
                "selection_rate", "precision", "false_positive_rate", "false_negative_rate",
                "false_discovery_rate", "false_omission_rate")),
        ),
        "equalized-odds": Policy(
            name="equalized-odds",
            description="Equalized odds: the gaps in true positive rate and in false positive rate "
                        "across groups are at most 0.1.",
            criteria=(
                Criterion(metric="true_positive_rate", measure="difference", scope="spread",
                          at_most=0.1, name="true positive rate gap"),
                Criterion(metric="false_positive_rate", measure="difference", scope="spread",
                          at_most=0.1, name="false positive rate gap"),
            ),
        ),
        "strict": Policy(
            name="strict",
            description="Selection rates within 0.9 of the highest group's; gaps in true positive "
                        "rate, false positive rate and precision at most 0.05; accuracy gap monitored.",
            criteria=(
                Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.9,
                          name="selection rate ratio to highest group"),
                Criterion(metric="true_positive_rate", measure="difference", scope="spread",
                          at_most=0.05, name="true positive rate gap"),
                Criterion(metric="false_positive_rate", measure="difference", scope="spread",
                          at_most=0.05, name="false positive rate gap"),
                Criterion(metric="precision", measure="difference", scope="spread", at_most=0.05,
                          name="precision gap"),
                Criterion(metric="accuracy", measure="difference", scope="spread", at_most=0.05,
                          required=False, name="accuracy gap"),
            ),
        ),
    }


PRESETS: tuple[str, ...] = ("four-fifths", "ratio-band", "equalized-odds", "strict")


def preset(name: str) -> Policy:
    """The preset policy called ``name`` (one of ``PRESETS``).

    Raises
    ------
    AuditInputError
        If there is no such preset.
    """
    presets = _presets()
    if name not in presets:
        raise AuditInputError(f"There is no preset policy '{name}'. Presets: {', '.join(PRESETS)}.")
    return presets[name]


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Build and validate a policy from its plain form (as read from YAML or JSON).

    Raises
    ------
    AuditInputError
        Naming the field at fault and the values it allows.
    """
    if not isinstance(data, Mapping):
        raise AuditInputError(
            f"A policy must be a mapping with keys {', '.join(_POLICY_KEYS)}; got "
            f"{type(data).__name__}."
        )
    _known_keys("The policy", data, _POLICY_KEYS)
    criteria = data.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        raise AuditInputError(
            "The policy's 'criteria' must be a non-empty list of criteria, each with at least "
            "'metric' and a bound ('at_least' or 'at_most')."
        )
    built = []
    for i, item in enumerate(criteria, start=1):
        if not isinstance(item, Mapping):
            raise AuditInputError(f"Criterion {i} must be a mapping of {', '.join(_CRITERION_KEYS)}.")
        _known_keys(f"Criterion {i}", item, _CRITERION_KEYS)
        if "metric" not in item:
            raise AuditInputError(f"Criterion {i} has no 'metric'. Use one of: {', '.join(METRICS)}.")
        fields = {k: item[k] for k in _CRITERION_KEYS if k in item}
        fields["name"] = str(fields.get("name") or "")
        try:
            built.append(Criterion(**fields))
        except AuditInputError as exc:
            label = f"Criterion {i} ('{fields['name']}')" if fields["name"] else f"Criterion {i}"
            message = str(exc).replace(f"Criterion '{fields['name']}'", label, 1).replace(
                "A criterion", label, 1)
            raise AuditInputError(message) from exc
    return Policy(name=str(data.get("name") or "custom policy"), criteria=tuple(built),
                  description=str(data.get("description") or ""))


def _known_keys(where: str, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [str(k) for k in data if k not in allowed]
    if unknown:
        raise AuditInputError(
            f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; allowed fields: "
            f"{', '.join(allowed)}."
        )


def parse_policy(text: str | bytes, *, format: str = "yaml") -> Policy:
    """Read a policy from YAML or JSON text (an uploaded file, say).

    Raises
    ------
    AuditInputError
        If the text is not valid YAML/JSON or the policy is invalid.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AuditInputError("The policy file is not UTF-8 text. Save it as UTF-8.") from exc
    if format == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AuditInputError(
                f"The policy is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from exc
    elif format == "yaml":
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise AuditInputError(
                f"The policy is not valid YAML{where}: {problem}. Check the indentation and brackets there."
            ) from exc
    else:
        raise AuditInputError(f"Unknown policy format '{format}'; use 'yaml' or 'json'.")
    return policy_from_dict(data)


def dump_policy(policy: Policy, *, format: str = "yaml") -> str:
    """The policy as YAML or JSON text (``parse_policy`` reads it back)."""
    if format == "json":
        return json.dumps(policy.to_dict(), indent=2)
    if format == "yaml":
        import yaml

        return str(yaml.safe_dump(policy.to_dict(), sort_keys=False, allow_unicode=True))
    raise AuditInputError(f"Unknown policy format '{format}'; use 'yaml' or 'json'.")


def load_policy(name_or_path: str | Path) -> Policy:
    """A preset by name, or a policy file (``.yaml``, ``.yml`` or ``.json``).

    Raises
    ------
    AuditInputError
        If it is neither a preset nor a readable policy file, or the file is invalid.
    """
    text = str(name_or_path)
    if text in PRESETS:
        return preset(text)
    path = Path(text)
    if not path.is_file():
        raise AuditInputError(
            f"'{text}' is neither a preset policy ({', '.join(PRESETS)}) nor a policy file that "
            "exists. Give a preset name or the path of a .yaml or .json file."
        )
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise AuditInputError(
            f"The policy file '{path.name}' has the extension '{suffix}'; use .yaml, .yml or .json."
        )
    try:
        return parse_policy(path.read_bytes(), format="json" if suffix == ".json" else "yaml")
    except AuditInputError as exc:
        raise AuditInputError(f"{path.name}: {exc}") from exc

