"""Public fairness datasets: ProPublica COMPAS, UCI Adult and the FICO/TransRisk tables.

Each ``load_*`` function finds the raw files (a local copy named by an environment variable,
else the cache under ``$AUDITAPP_DATA_DIR``, else a download from the original public location),
checks their sha256 against the published bytes and parses them. The ``parse_*`` functions take
paths, so they also work on copies the user already has.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

from .download import Fetch, RemoteFile, env_path, obtain, obtain_all

COMPAS_PATH_ENV = "AUDITAPP_COMPAS_PATH"
ADULT_DIR_ENV = "AUDITAPP_ADULT_DIR"
FICO_DIR_ENV = "AUDITAPP_FICO_DIR"


_PROPUBLICA = (
    "https://raw.githubusercontent.com/propublica/compas-analysis/"
    "bafff5da3f2e45eca6c2d5055faad269defd135a/"
)
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
_FAIRMLBOOK = (
    "https://raw.githubusercontent.com/fairmlbook/fairmlbook.github.io/"
    "eb8a58b0a5b39c73803565e32ab4695ebed33702/code/creditscore/data/"
)

COMPAS_FILE = RemoteFile("compas", "compas-scores-two-years.csv", _PROPUBLICA, (
    "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"))
ADULT_FILES = (
    RemoteFile("adult", "adult.data", _UCI,
               "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"),
    RemoteFile("adult", "adult.test", _UCI,
               "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05"),
)
FICO_FILES = (
    RemoteFile("fico", "transrisk_cdf_by_race_ssa.csv", _FAIRMLBOOK,
               "04c9691aa4b9fad43cc9722bc35a7d3f3f02ae1d724d49ae9d3bbe153f5b4f67"),
    RemoteFile("fico", "transrisk_performance_by_race_ssa.csv", _FAIRMLBOOK,
               "77af654ac4173978c3cdb3a9186becb12ec35666d9e34e5b666a6a3972692ff9"),
    RemoteFile("fico", "totals.csv", _FAIRMLBOOK,
               "60ba4af53f9e61dedad3a5c4246390e666760e7552c98b08084dd3abf6b73f13"),
)

COMPAS_PERSONAL_COLUMNS = ("name", "first", "last", "dob")
COMPAS_REQUIRED_COLUMNS = ("id", "sex", "age", "race", "decile_score", "score_text",
                           "two_year_recid")
COMPAS_FILTER_COLUMNS = ("days_b_screening_arrest", "is_recid", "c_charge_degree", "score_text")
ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
    "native_country", "income",
)
ADULT_LABELS = ("<=50K", ">50K")
FICO_GROUP_NAMES = {"Non- Hispanic white": "White"}


@dataclass(frozen=True)
class FicoTables:
    """The TransRisk score tables by group from the Federal Reserve's 2007 report.

    ``cdf`` and ``repay`` are indexed by score (``scores``) with one column per group:
    ``cdf`` is the fraction of the group at or below the score (0 to 1), ``repay`` the
    fraction of the group at that score who repaid (1 - "bad" % / 100). ``totals`` maps each
    group to the number of people in the sample.
    """

    scores: np.ndarray
    cdf: pd.DataFrame
    repay: pd.DataFrame
    totals: dict[str, int]

    @property
    def groups(self) -> tuple[str, ...]:
        """The group names, in file order."""
        return tuple(str(name) for name in self.cdf.columns)

    def pmf(self) -> pd.DataFrame:
        """Return the probability mass at each score per group (each column sums to 1).

        The first score takes the CDF's first value; each later score the step from the one
        before. The published CDF reaches 100 % at the top score, so no mass is lost.
        """
        mass = self.cdf.diff()
        mass.iloc[0] = self.cdf.iloc[0]
        return mass / mass.sum()


def parse_compas(path: str | os.PathLike[str], *, propublica_filter: bool = False) -> pd.DataFrame:
    """Read ProPublica's ``compas-scores-two-years.csv``.

    The file repeats the columns ``decile_score`` and ``priors_count``; one copy of each is
    kept after checking that the copies agree. The personal columns ``name``, ``first``,
    ``last`` and ``dob`` are dropped.

    Parameters
    ----------
    path : path-like
        The CSV file.
    propublica_filter : bool, default False
        Apply ProPublica's filter for the two-year analysis: screening within 30 days of the
        arrest, ``is_recid != -1``, ``c_charge_degree != "O"`` and ``score_text != "N/A"``.

    Returns
    -------
    pandas.DataFrame
        One row per defendant, with a fresh 0..n-1 index.

    Raises
    ------
    AuditInputError
        If required columns are missing or repeated columns disagree.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    names, copies = _unique_names(header)
    frame = pd.read_csv(path, header=0, names=names, low_memory=False)
    for original, copy in copies:
        differ = ~(frame[original].eq(frame[copy]) | (frame[original].isna() & frame[copy].isna()))
        if differ.any():
            raise AuditInputError(
                f"The column '{original}' appears more than once in {path.name} and the copies "
                f"differ in {int(differ.sum())} row(s), so it is unclear which to use. "
                "Use the unmodified file from propublica/compas-analysis."
            )
    frame = frame.drop(columns=[copy for _, copy in copies])
    needed = COMPAS_REQUIRED_COLUMNS + (COMPAS_FILTER_COLUMNS if propublica_filter else ())
    _require_columns(frame, needed, path.name)
    frame = frame.drop(columns=[c for c in COMPAS_PERSONAL_COLUMNS if c in frame.columns])
    if propublica_filter:
        days = pd.to_numeric(frame["days_b_screening_arrest"], errors="coerce")
        # As in ProPublica's R code, a missing value fails its condition (pandas also reads
        # the text "N/A" as missing).
        present = frame[list(COMPAS_FILTER_COLUMNS)].notna().all(axis=1)
        keep = (present & days.between(-30, 30) & (frame["is_recid"] != -1)
                & (frame["c_charge_degree"] != "O") & (frame["score_text"] != "N/A"))
        frame = frame.loc[keep.to_numpy()]
    return frame.reset_index(drop=True)


def parse_adult(
    data_path: str | os.PathLike[str], test_path: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """Read UCI Adult's ``adult.data`` and, optionally, ``adult.test`` into one frame.

    Values are separated by ``", "``; ``?`` becomes missing (NaN). The test file's first line
    (``|1x3 Cross validator``) is skipped and the trailing ``.`` of its labels removed. Column
    names are those of ``adult.names`` in snake_case (``education-num`` → ``education_num``).

    Returns the 15 columns plus ``split`` ("train" or "test"). Raises ``AuditInputError`` if a
    file does not have 15 values per row or holds an unknown income label.
    """
    parts = [_read_adult_file(Path(data_path), "train")]
    if test_path is not None:
        parts.append(_read_adult_file(Path(test_path), "test"))
    return pd.concat(parts, ignore_index=True)


def parse_fico(directory: str | os.PathLike[str]) -> FicoTables:
    """Read the three TransRisk CSVs (cdf, performance and totals by group) from a folder.

    ``directory`` holds ``transrisk_cdf_by_race_ssa.csv``,
    ``transrisk_performance_by_race_ssa.csv`` and ``totals.csv``. The group
    ``Non- Hispanic white`` is renamed ``White``; percentages become fractions. Raises
    ``AuditInputError`` if a file is missing, the two tables disagree on scores or groups, or
    the CDF is not a non-decreasing percentage reaching 100.
    """
    directory = Path(directory)
    missing = [f.filename for f in FICO_FILES if not (directory / f.filename).is_file()]
    if missing:
        raise AuditInputError(
            f"The folder {directory} lacks {', '.join(missing)}. Point at the folder "
            "code/creditscore/data from fairmlbook/fairmlbook.github.io."
        )
    cdf = _read_fico_table(directory / FICO_FILES[0].filename)
    performance = _read_fico_table(directory / FICO_FILES[1].filename)
    if not cdf.index.equals(performance.index) or list(cdf.columns) != list(performance.columns):
        raise AuditInputError(
            f"The cdf and performance tables in {directory} differ in their scores or groups "
            f"(groups {list(cdf.columns)} vs {list(performance.columns)}). "
            "Use the unmodified files from the same source."
        )
    drops = [float(s) for s in cdf.index[(cdf.diff() < 0).any(axis=1)]]
    if drops or not cdf.iloc[-1].between(99.5, 100.5).all():
        found = (f"they decrease at score(s) {drops[:5]}" if drops
                 else f"the last row is {cdf.iloc[-1].round(2).tolist()}")
        raise AuditInputError(
            f"{FICO_FILES[0].filename} must hold cumulative percentages that never decrease and "
            f"end at 100, but {found}. Use the unmodified file."
        )
    totals_frame = pd.read_csv(directory / FICO_FILES[2].filename)
    totals_frame.columns = [_fico_group(c) for c in totals_frame.columns]
    absent = [g for g in cdf.columns if g not in totals_frame.columns]
    if absent or len(totals_frame) != 1:
        raise AuditInputError(
            f"{FICO_FILES[2].filename} must have one row with a count for each group, but has "
            f"{len(totals_frame)} row(s) and lacks {absent}. Use the unmodified file."
        )
    totals = {str(g): int(totals_frame[g].iloc[0]) for g in cdf.columns}
    return FicoTables(
        scores=cdf.index.to_numpy(dtype=float),
        cdf=cdf / 100.0,
        repay=1.0 - performance / 100.0,
        totals=totals,
    )


def load_compas(*, fetch: Fetch | None = None, propublica_filter: bool = False) -> pd.DataFrame:
    """Load COMPAS two-year data (see :func:`parse_compas`), downloading it on first use.

    Set ``AUDITAPP_COMPAS_PATH`` to use a local copy of ``compas-scores-two-years.csv``.
    ``fetch(url) -> bytes`` replaces the HTTP download (tests pass one). Raises
    ``AuditInputError`` if the download fails, a sha256 differs or the file cannot be parsed.
    """
    path = obtain(COMPAS_FILE, fetch=fetch, local_path=env_path(COMPAS_PATH_ENV),
                  local_env=COMPAS_PATH_ENV)
    return parse_compas(path, propublica_filter=propublica_filter)


def load_adult(*, fetch: Fetch | None = None) -> pd.DataFrame:
    """Load UCI Adult (train and test, with a ``split`` column), downloading it on first use.

    Set ``AUDITAPP_ADULT_DIR`` to a folder holding ``adult.data`` and ``adult.test`` to use a
    local copy. Parameters, returns and errors are as for :func:`load_compas`.
    """
    data, test = obtain_all(ADULT_FILES, local_env=ADULT_DIR_ENV, fetch=fetch)
    return parse_adult(data, test)


def load_fico(*, fetch: Fetch | None = None) -> FicoTables:
    """Load the FICO/TransRisk tables used by Liu et al. (2018), downloading them on first use.

    Set ``AUDITAPP_FICO_DIR`` to a folder holding the three CSVs to use a local copy.
    Parameters and errors are as for :func:`load_compas`.
    """
    return parse_fico(fico_directory(fetch=fetch))


def fico_directory(*, fetch: Fetch | None = None) -> Path:
    """The folder holding the three verified FICO/TransRisk CSVs (local copy, cache, or download)."""
    return obtain_all(FICO_FILES, local_env=FICO_DIR_ENV, fetch=fetch)[0].parent


def _unique_names(header: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Rename repeated header names to ``name__copy<k>``; return names and (original, copy)."""
    names: list[str] = []
    copies: list[tuple[str, str]] = []
    for position, name in enumerate(header):
        earlier = header[:position].count(name)
        names.append(f"{name}__copy{earlier}" if earlier else name)
        if earlier:
            copies.append((name, names[-1]))
    return names, copies


def _require_columns(frame: pd.DataFrame, needed: tuple[str, ...], source: str) -> None:
    missing = [name for name in dict.fromkeys(needed) if name not in frame.columns]
    if missing:
        raise AuditInputError(
            f"{source} lacks the column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns[:12]))}{' ...' if frame.shape[1] > 12 else ''}. "
            "Use compas-scores-two-years.csv from propublica/compas-analysis."
        )


def _read_adult_file(path: Path, split: str) -> pd.DataFrame:
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    try:
        frame = pd.read_csv(path, header=None, skiprows=1 if first.startswith("|") else 0,
                            skipinitialspace=True, na_values=["?"], keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise AuditInputError(
            f"{path.name} could not be read as comma-separated values: {exc}. "
            "Use the unmodified adult.data / adult.test from UCI."
        ) from exc
    if frame.shape[1] != len(ADULT_COLUMNS):
        raise AuditInputError(
            f"{path.name} should have {len(ADULT_COLUMNS)} comma-separated values per row, but "
            f"has {frame.shape[1]}. Use the unmodified adult.data / adult.test from UCI."
        )
    frame.columns = list(ADULT_COLUMNS)
    frame["income"] = frame["income"].astype(str).str.rstrip(".")
    unknown = sorted(set(frame["income"].unique().tolist()) - set(ADULT_LABELS))
    if unknown:
        raise AuditInputError(
            f"The income column of {path.name} must be '<=50K' or '>50K', but also holds "
            f"{unknown[:5]}. Use the unmodified UCI file."
        )
    frame["split"] = split
    return frame


def _fico_group(name: str) -> str:
    stripped = str(name).strip()
    return FICO_GROUP_NAMES.get(stripped, stripped)


def _read_fico_table(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.columns = [_fico_group(c) for c in frame.columns]
    if "Score" not in frame.columns or frame.shape[1] < 2:
        raise AuditInputError(
            f"{path.name} must start with a 'Score' column followed by one column per group, but "
            f"has {list(frame.columns)}. Use the unmodified file."
        )
    frame = frame.apply(pd.to_numeric, errors="coerce").set_index("Score")
    frame.index = frame.index.astype(float).rename("score")
    if frame.isna().to_numpy().any() or frame.index.isna().any():
        raise AuditInputError(
            f"{path.name} must hold only numbers, but has empty or non-numeric cells. "
            "Use the unmodified file."
        )
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise AuditInputError(
            f"The scores in {path.name} must increase from row to row, but they do not. "
            "Use the unmodified file."
        )
    return frame.astype(float)
