"""Shared pieces of the feedback-loop simulations: the result type, tidy series and validation.

Every simulation module (``policing``, ``lending``, ``model_loop``) takes a frozen parameters
dataclass, validates it with the helpers below, and returns one :class:`SimulationResult`. The
scenario modules import this module and nothing imports them back: :mod:`auditapp.feedback.runner`
finds them through the registry in :mod:`auditapp.feedback.registry`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

MAX_DRAWS = 1_000_000
MAX_RUNS = 1_000
MAX_TOTAL_DRAWS = 20_000_000
MAX_ROUNDS = 500
SERIES_COLUMNS = ("step", "series", "group", "value")

Progress = Callable[[float], None]


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The outcome of one seeded feedback-loop simulation.

    Attributes
    ----------
    scenario : str
        ``"policing"``, ``"lending"`` or ``"model-loop"``.
    params : dict
        The validated parameters, as plain Python values.
    seed : int or None
        The seed the run used; the same seed and parameters give the same result.
    series : pandas.DataFrame
        The time series in tidy form, with columns ``step``, ``series``, ``group``, ``value``.
    summary : dict
        Headline numbers (JSON-ready).
    narrative : tuple of str
        Plain-language sentences computed from the numbers: what happened and what to try.
    tables : dict of str to pandas.DataFrame
        Further tables a scenario needs (e.g. the lending outcome curves).
    """

    scenario: str
    params: dict[str, Any]
    seed: int | None
    series: pd.DataFrame
    summary: dict[str, Any]
    narrative: tuple[str, ...]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def series_wide(self, name: str) -> pd.DataFrame:
        """Return one series as a step × group table (groups in their original order)."""
        rows = self.series[self.series["series"] == name]
        if rows.empty:
            known = sorted(self.series["series"].unique().tolist())
            raise KeyError(f"No series {name!r}; this result has {known}.")
        order = list(dict.fromkeys(rows["group"].tolist()))
        wide = rows.pivot(index="step", columns="group", values="value")
        return wide[order]


def tidy_series(steps: np.ndarray, name: str, groups: Iterable[str], values: np.ndarray) -> pd.DataFrame:
    """Turn a (steps × groups) array into rows of the tidy series frame."""
    groups = [str(g) for g in groups]
    values = np.asarray(values, dtype=float).reshape(len(steps), len(groups))
    return pd.DataFrame({
        "step": np.repeat(np.asarray(steps, dtype=int), len(groups)),
        "series": name,
        "group": np.tile(np.array(groups, dtype=object), len(steps)),
        "value": values.ravel(),
    })


def concat_series(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tidy series parts into one frame with the standard columns."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SERIES_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(SERIES_COLUMNS)]


def params_dict(params: Any) -> dict[str, Any]:
    """Plain-Python dict of a parameters dataclass (arrays and tuples become lists)."""
    out = {}
    for f in fields(params):
        out[f.name] = to_plain(getattr(params, f.name))
    return out


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and dataclasses to JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_plain(v) for k, v in asdict(value).items()}
    if isinstance(value, pd.DataFrame):
        return f"<table {value.shape[0]}x{value.shape[1]}>"
    return value


def check_number(name: str, value: Any, *, minimum: float | None = None,
                 maximum: float | None = None, hint: str = "") -> float:
    """Return ``value`` as a finite float inside [minimum, maximum], or raise AuditInputError."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise AuditInputError(f"{name} must be a number, but got {value!r}. {hint}".strip()) from exc
    if not math.isfinite(number):
        raise AuditInputError(f"{name} must be a finite number, but got {number}. {hint}".strip())
    if minimum is not None and number < minimum:
        raise AuditInputError(f"{name} must be at least {minimum:g}, but got {number:g}. {hint}".strip())
    if maximum is not None and number > maximum:
        raise AuditInputError(f"{name} must be at most {maximum:g}, but got {number:g}. {hint}".strip())
    return number


def check_share(name: str, value: Any) -> float:
    """Return ``value`` as a float in [0, 1] (a share or probability), or raise AuditInputError."""
    return check_number(name, value, minimum=0.0, maximum=1.0,
                        hint="Give a share between 0 and 1, e.g. 0.25 for a quarter.")


def check_count(name: str, value: Any, *, minimum: int = 1, maximum: int) -> int:
    """Return ``value`` as an int in [minimum, maximum], or raise AuditInputError."""
    if isinstance(value, bool) or not float(check_number(name, value)).is_integer():
        raise AuditInputError(f"{name} must be a whole number, but got {value!r}.")
    count = int(value)
    if count < minimum:
        raise AuditInputError(f"{name} must be at least {minimum}, but got {count}.")
    if count > maximum:
        raise AuditInputError(
            f"{name} is {count:,}, above the limit of {maximum:,}. "
            "Use fewer, or run the simulation in pieces."
        )
    return count


def check_rates(name: str, values: Any, *, minimum_length: int = 1) -> tuple[float, ...]:
    """Return a tuple of non-negative finite floats, or raise AuditInputError."""
    if isinstance(values, str):
        raise AuditInputError(f"{name} must be a list of numbers, but got the text {values!r}.")
    try:
        items = list(values)
    except TypeError as exc:
        raise AuditInputError(f"{name} must be a list of numbers, but got {values!r}.") from exc
    if len(items) < minimum_length:
        raise AuditInputError(
            f"{name} needs at least {minimum_length} values, but got {len(items)}."
        )
    rates = tuple(check_number(f"{name} (item {i + 1})", v) for i, v in enumerate(items))
    negative = [r for r in rates if r < 0]
    if negative:
        raise AuditInputError(
            f"{name} cannot be negative, but got {negative[0]:g}. Rates count events per step, "
            "so use 0 or a positive number."
        )
    return rates


def report_progress(progress: Progress | None, fraction: float) -> None:
    """Call the optional progress callback with a fraction in [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))))
