"""How much work one audit asks for, and the caps a shared server puts on it.

An audit's cost is set by its groups, not its rows: the rows are reduced once to a table of confusion
counts per intersection of the sensitive features, and every bootstrap replicate is a draw over that
table (measured on this 2-core machine: 200 replicates of 640 intersections took 1.2 s on 100,000
rows and 1.0 s on 1,000,000). What grows is ``replicates × groups``, where the groups are those of
every grouping (each feature alone and every combination of features), and the cost of each grouping
also grows with the number of intersections. So a server caps

- the observed intersections of all sensitive features (``AUDITAPP_MAX_INTERSECTIONS``, default 1,000),
- ``replicates × groups`` (``AUDITAPP_MAX_BOOTSTRAP_WORK``, default 2,000,000: the heaviest audit it
  allows then takes 15–22 s on one core of this machine, e.g. 1,503 replicates of 10 × 10 × 10 groups),
- and the sensitive features audited together (at most 6, i.e. 63 groupings).

Rows are bounded by the table limits (``intake.Limits``). The command line runs on the user's own
machine and may lift these caps (``auditapp audit --no-work-limit``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditapp.errors import LimitExceededError
from auditapp.limits import positive_int

MAX_SENSITIVE_FEATURES = 6
SERVER_REMEDY = ("; the command line (auditapp audit --no-work-limit) can run it on your own machine")
CLI_REMEDY = "; or add --no-work-limit to run it anyway on this machine"


class WorkLimitError(LimitExceededError):
    """One audit asks for more work than this server allows."""


@dataclass(frozen=True)
class AuditWork:
    """The size of one audit: rows, replicates, and the groups every grouping has in these rows."""

    rows: int
    replicates: int
    features: tuple[str, ...]
    intersections: int
    groupings: int
    groups: int

    @property
    def bootstrap_work(self) -> int:
        """Replicate group rates the bootstrap computes: ``replicates × groups``."""
        return self.replicates * self.groups


@dataclass(frozen=True)
class WorkLimits:
    """Caps on one audit (see the module docstring)."""

    max_intersections: int = 1_000
    max_bootstrap_work: int = 2_000_000
    max_features: int = MAX_SENSITIVE_FEATURES

    @classmethod
    def from_env(cls) -> WorkLimits:
        """The limits set by ``AUDITAPP_MAX_INTERSECTIONS`` and ``AUDITAPP_MAX_BOOTSTRAP_WORK``."""
        return cls(max_intersections=positive_int("AUDITAPP_MAX_INTERSECTIONS"),
                   max_bootstrap_work=positive_int("AUDITAPP_MAX_BOOTSTRAP_WORK"))


def _combined(codes: list[np.ndarray]) -> np.ndarray:
    """One compact code per distinct combination of the given code columns (0..k-1)."""
    key = codes[0]
    for column in codes[1:]:
        key = pd.factorize(key * (int(column.max()) + 1) + column)[0]
    return key


def _names(features: tuple[str, ...]) -> str:
    return features[0] if len(features) == 1 else f"{', '.join(features[:-1])} and {features[-1]}"


def measure_work(sensitive_features: pd.DataFrame, n_boot: int, *, limits: WorkLimits | None = None,
                 remedy: str = SERVER_REMEDY, rows: int | None = None) -> AuditWork:
    """Count the intersections and groups of an audit, refusing it early if ``limits`` are exceeded.

    Parameters
    ----------
    sensitive_features : DataFrame
        One column per sensitive feature, as the audit groups them (``spec.prepare`` output).
    n_boot : int
        Bootstrap replicates asked for.
    limits : WorkLimits, optional
        Refuse with :class:`WorkLimitError` above these caps (nothing is refused when None).
    remedy : str
        Appended to a refusal: how else the user can run it.
    rows : int, optional
        The audit's rows, when ``sensitive_features`` has one row per intersection (an engine's counts
        table) rather than one per data row.

    Raises
    ------
    WorkLimitError
        If the audit has too many sensitive features, intersections or replicates × groups.
    """
    features = tuple(map(str, sensitive_features.columns))
    f, n = len(features), int(len(sensitive_features))
    groupings = 2 ** f - 1
    if limits is not None and f > limits.max_features:
        raise WorkLimitError(
            f"This audit has {f} sensitive features ({_names(features)}), that is {groupings:,} groupings "
            f"(each feature alone and every combination); at most {limits.max_features} features "
            f"({2 ** limits.max_features - 1} groupings) are audited together. Choose fewer sensitive "
            f"features{remedy}.")
    codes = [pd.factorize(sensitive_features.iloc[:, j], use_na_sentinel=False)[0].astype(np.int64)
             for j in range(f)]
    full = _combined(codes) if n else np.zeros(0, dtype=np.int64)
    intersections = int(full.max()) + 1 if n else 0
    rows = n if rows is None else int(rows)
    if limits is not None and intersections > limits.max_intersections:
        raise WorkLimitError(
            f"The sensitive features {_names(features)} have {intersections:,} intersections in these "
            f"{rows:,} rows; this server audits at most {limits.max_intersections:,} "
            "(AUDITAPP_MAX_INTERSECTIONS). Bin numeric features (e.g. age into quartiles), merge rare "
            f"values, or choose fewer sensitive features{remedy}.")
    first = np.unique(full, return_index=True)[1]
    distinct = [c[first] for c in codes]  # one row per observed intersection
    groups = 0
    for size in range(1, f + 1):
        for subset in itertools.combinations(range(f), size):
            key = _combined([distinct[j] for j in subset]) if intersections else np.zeros(0, dtype=np.int64)
            groups += int(key.max()) + 1 if key.size else 0
    work = AuditWork(rows=rows, replicates=int(n_boot), features=features, intersections=intersections,
                     groupings=groupings, groups=groups)
    if limits is not None and work.bootstrap_work > limits.max_bootstrap_work:
        allowed = limits.max_bootstrap_work // max(groups, 1)
        raise WorkLimitError(
            f"This audit asks for {work.replicates:,} bootstrap replicates of {groups:,} groups "
            f"({groupings} grouping{'s' if groupings > 1 else ''} of {_names(features)}; {intersections:,} "
            f"intersections) on {rows:,} rows: {work.bootstrap_work:,} replicate group rates, more than this "
            f"server's limit of {limits.max_bootstrap_work:,} (AUDITAPP_MAX_BOOTSTRAP_WORK). Use at most "
            f"{allowed:,} replicates, or fewer sensitive features or coarser bins{remedy}.")
    return work
