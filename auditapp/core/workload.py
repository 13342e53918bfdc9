"""How much work one audit asks for, and the caps a shared server puts on it.

Intervals come from counts (no replicates), so an audit's cost is set by its groups, their pairs and,
with scores, its rows. Measured with ``time.process_time`` on one core of this 2-core machine
(``bench/load_heavy.py --alone`` prints the heaviest audit the defaults allow):

- **rows × groupings, with scores.** A grouping is one sensitive feature alone or a combination of
  several (``2^f − 1`` of them for ``f`` features). With scores (a score column, or a model's
  probabilities) every grouping sorts the scores of every row for the threshold explorer and its ROC AUC:
  about 0.55 s per million rows per grouping (1,000,000 rows: 0.6 s with 1 grouping, 8.3 s with 15).
  This also sets the size of the result (about 8.5 bytes per row per grouping), which must fit the shared
  cache (``AUDITAPP_DISK_CACHE_MAX_BYTES``) or a web process computes it again. Without scores the rows
  are reduced once to a table of counts per intersection: 6 features of 3–4 levels (63 groupings) took
  10.6 s on 1,000,000 rows and 10.9 s on 50,000.
- **groups and pairs.** Each group of each grouping gets every rate's interval and its gap to the
  reference (0.2–1 ms a group; 148,547 groups took 35 s and 1.5 GB); each grouping of at most 40 groups (``spreads.PAIRWISE_MAX_GROUPS``)
  compares every pair of groups for the spread criteria (about 0.6 ms a pair). Both are bounded by the
  observed intersections and the 6 features: at most 63 groupings of at most 40 groups, 49,140 pairs.

So a server caps

- the sensitive features audited together (at most 6, i.e. 63 groupings),
- the observed intersections of all sensitive features (``AUDITAPP_MAX_INTERSECTIONS``, default 1,000),
- rows × groupings of an audit with scores (``AUDITAPP_MAX_ROW_GROUPINGS``, default 10,000,000, e.g.
  1,428,571 rows with 3 features, 158,730 with 6; the results measured took 100–175 MB).

With these defaults the heaviest audit we found (six copies of one 40-level feature, so every grouping
has 40 groups, on 158,730 scored rows) takes about 33 s on one core; six features of 3–4 levels on as
many rows take about 16 s. Rows are bounded by the table limits (``table_limits.Limits``). The command
line runs on the user's own machine and may lift these caps (``auditapp audit --no-work-limit``).
``AUDITAPP_MAX_BOOTSTRAP_WORK`` capped bootstrap replicates, which no longer exist; it is ignored (with
a warning in the log).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditapp.core.errors import LimitExceededError
from auditapp.core.limits import RuntimeLimits, runtime
from auditapp.core.spreads import PAIRWISE_MAX_GROUPS

MAX_SENSITIVE_FEATURES = 6
SERVER_REMEDY = ("; the command line (auditapp audit --no-work-limit) can run it on your own machine")
CLI_REMEDY = "; or add --no-work-limit to run it anyway on this machine"
log = logging.getLogger("auditapp.core.workload")


class WorkLimitError(LimitExceededError):
    """One audit asks for more work than this server allows."""


@dataclass(frozen=True)
class AuditWork:
    """The size of one audit: its rows, and the groupings, groups and pairs it has in these rows.

    ``scored`` says whether the audit has scores (then every grouping sorts every row's score);
    ``pairs`` counts the pairs of groups compared within groupings of at most 40 groups.
    """

    rows: int
    features: tuple[str, ...]
    intersections: int
    groupings: int
    groups: int
    pairs: int
    scored: bool

    @property
    def row_groupings(self) -> int:
        """``rows × groupings``: the rows whose scores the audit sorts, once per grouping."""
        return self.rows * self.groupings


@dataclass(frozen=True)
class WorkLimits:
    """Caps on one audit (see the module docstring)."""

    max_intersections: int = RuntimeLimits.max_intersections  # every default has one home: RuntimeLimits
    max_row_groupings: int = RuntimeLimits.max_row_groupings
    max_features: int = MAX_SENSITIVE_FEATURES

    @classmethod
    def configured(cls) -> WorkLimits:
        """This process's caps (``AUDITAPP_MAX_INTERSECTIONS``, ``AUDITAPP_MAX_ROW_GROUPINGS``, read at
        start-up: :func:`auditapp.core.limits.runtime`)."""
        limits = runtime()
        return cls(max_intersections=limits.max_intersections, max_row_groupings=limits.max_row_groupings)


def _combined(codes: list[np.ndarray]) -> np.ndarray:
    """One compact code per distinct combination of the given code columns (0..k-1)."""
    key = codes[0]
    for column in codes[1:]:
        key = pd.factorize(key * (int(column.max()) + 1) + column)[0]
    return key


def _names(features: tuple[str, ...]) -> str:
    return features[0] if len(features) == 1 else f"{', '.join(features[:-1])} and {features[-1]}"


def _groupings(f: int) -> int:
    result: int = 2 ** f - 1
    return result


def measure_work(sensitive_features: pd.DataFrame, *, scored: bool = True, limits: WorkLimits | None = None,
                 remedy: str = SERVER_REMEDY, rows: int | None = None) -> AuditWork:
    """Count the intersections, groupings, groups and pairs of an audit, refusing it early above ``limits``.

    Parameters
    ----------
    sensitive_features : DataFrame
        One column per sensitive feature, as the audit groups them (``spec.prepare`` output).
    scored : bool
        Whether the audit has scores (a score column or a model's probabilities): then rows × groupings
        is capped too.
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
        If the audit has too many sensitive features, intersections, or (with scores) rows × groupings.
    """
    features = tuple(map(str, sensitive_features.columns))
    f, n = len(features), int(len(sensitive_features))
    groupings = _groupings(f)
    if limits is not None and f > limits.max_features:
        raise WorkLimitError(
            f"This audit has {f} sensitive features ({_names(features)}), that is {groupings:,} groupings "
            f"(each feature alone and every combination); at most {limits.max_features} features "
            f"({_groupings(limits.max_features)} groupings) are audited together. Choose fewer sensitive "
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
    if limits is not None and scored and rows * groupings > limits.max_row_groupings:
        raise WorkLimitError(_too_many_row_groupings(features, rows, limits.max_row_groupings, remedy))
    first = np.unique(full, return_index=True)[1]
    distinct = [c[first] for c in codes]  # one row per observed intersection
    groups = pairs = 0
    for size in range(1, f + 1):
        for subset in itertools.combinations(range(f), size):
            key = _combined([distinct[j] for j in subset]) if intersections else np.zeros(0, dtype=np.int64)
            k = int(key.max()) + 1 if key.size else 0
            groups += k
            pairs += k * (k - 1) // 2 if k <= PAIRWISE_MAX_GROUPS else 0
    return AuditWork(rows=rows, features=features, intersections=intersections, groupings=groupings,
                     groups=groups, pairs=pairs, scored=bool(scored))


def _too_many_row_groupings(features: tuple[str, ...], rows: int, cap: int, remedy: str) -> str:
    f = len(features)
    groupings = _groupings(f)
    which = (f"the one grouping of {features[0]}" if f == 1 else
             f"each of its {groupings} groupings ({_names(features)}: each alone and every combination)")
    fewer = ""
    if f > 1:
        fewer = (f", or choose {f - 1} sensitive feature{'s' if f > 2 else ''} ({_groupings(f - 1)} "
                 f"grouping{'s' if f > 2 else ''}: up to {cap // _groupings(f - 1):,} rows)")
    return (f"This audit has scores, and {which} sorts the scores of all {rows:,} rows: {rows * groupings:,} "
            f"rows × groupings, more than this server's limit of {cap:,} (AUDITAPP_MAX_ROW_GROUPINGS). Audit "
            f"a sample of at most {cap // groupings:,} rows{fewer}{remedy}.")
