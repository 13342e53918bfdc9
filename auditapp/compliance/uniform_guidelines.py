"""Adverse impact under the Uniform Guidelines on Employee Selection Procedures (29 CFR 1607.4(D)).

For each group g, against the group h with the highest selection rate (``SR = selected / n``):

- impact ratio ``IR_g = SR_g / SR_h``; below 0.8 is "generally regarded as evidence of adverse impact"
  (the four-fifths rule of thumb);
- Fisher's exact test, two-tailed, of the 2×2 table ``[[s_g, n_g − s_g], [s_h, n_h − s_h]]``;
- the two-standard-deviation test: the pooled two-proportion statistic
  ``z = (SR_g − SR_h) / sqrt(P(1 − P)(1/n_g + 1/n_h))``, ``P = (s_g + s_h)/(n_g + n_h)``, significant when
  its two-sided normal p-value is below alpha (|z| > 1.96 at alpha 0.05);
- the flip test (practical significance): the fewest of g's rejected applicants who would have to be
  selected instead (n unchanged) for the test to stop being significant, and for IR to reach 0.8;
- the shortfall: ``SR_h · n_g − s_g``, the selections g lacks for parity with h, and the whole number
  of selections that reaches parity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.errors import AuditInputError

FOUR_FIFTHS = 0.8
FLIP_SCAN_LIMIT = 5000


@dataclass(frozen=True)
class AdverseImpactRow:
    """One group against the highest-rate group."""

    group: str
    n: int
    selected: int
    rate: float
    impact_ratio: float | None
    below_four_fifths: bool
    fisher_p: float | None
    z: float | None
    z_p: float | None
    flips_fisher: int | None
    flips_z: int | None
    flips_to_four_fifths: int | None
    shortfall: float | None
    selections_for_parity: int | None
    is_highest: bool


@dataclass(frozen=True)
class AdverseImpact:
    """Every group's impact ratio, tests, flips and shortfall, and the settings used."""

    rows: tuple[AdverseImpactRow, ...]
    highest: str
    alpha: float
    flip_method: str

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame indexed by group."""
        return pd.DataFrame([r.__dict__ for r in self.rows]).set_index("group")


def fisher_p(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-tailed Fisher exact p-value of ``[[s1, n1 − s1], [s2, n2 − s2]]`` (scipy)."""
    from scipy.stats import fisher_exact

    return float(fisher_exact([[s1, n1 - s1], [s2, n2 - s2]], alternative="two-sided").pvalue)


def two_sd_test(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """The pooled two-proportion z statistic of group 1 against group 2 and its two-sided p-value.

    When nobody or everybody was selected in both groups the statistic is 0 (no difference) and p is 1.
    """
    import math

    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 0.0, 1.0
    z = (s1 / n1 - s2 / n2) / math.sqrt(variance)
    return float(z), float(math.erfc(abs(z) / math.sqrt(2)))


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def flips_to_ratio(s_g: int, n_g: int, s_h: int, n_h: int, bound: float = FOUR_FIFTHS) -> int:
    """Fewest added selections in g (n fixed) for ``(s_g + k)/n_g >= bound · s_h/n_h``, in exact arithmetic."""
    from fractions import Fraction

    b = Fraction(bound).limit_denominator(10_000)
    needed = _ceil_div(b.numerator * s_h * n_g - b.denominator * s_g * n_h, b.denominator * n_h)
    return max(0, needed)


def flips_to_insignificance(s_g: int, n_g: int, s_h: int, n_h: int, test: Callable[[int, int, int, int], float],
                            alpha: float) -> tuple[int, str]:
    """Fewest of g's rejections turned into selections for ``test(...)`` p-value to reach ``alpha``.

    Scans k = 0, 1, 2… up to parity with h (where the tests cannot be significant) when that is at most
    ``FLIP_SCAN_LIMIT`` steps; beyond, bisects, which assumes the p-value rises as k approaches parity.
    Returns ``(k, "scan" | "bisection")``.
    """
    def p(k: int) -> float:
        return float(test(s_g + k, n_g, s_h, n_h))

    parity = max(0, min(n_g - s_g, _ceil_div(s_h * n_g - s_g * n_h, n_h)))
    if parity <= FLIP_SCAN_LIMIT:
        for k in range(parity + 1):
            if p(k) >= alpha:
                return k, "scan"
        return parity, "scan"
    low, high = 0, parity
    if p(low) >= alpha:
        return 0, "bisection"
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if p(mid) >= alpha else (mid, high)
    return high, "bisection"


def _validated(selected: ArrayLike, groups: ArrayLike) -> pd.DataFrame:
    frame = pd.DataFrame({"selected": pd.Series(selected).reset_index(drop=True),
                          "group": pd.Series(groups).reset_index(drop=True)})
    if len(frame) == 0:
        raise AuditInputError("There are no rows to test.")
    if frame["group"].isna().any():
        raise AuditInputError(f"{int(frame['group'].isna().sum())} rows have no group. Give every row a group "
                              "(or a value such as 'unknown' that you then leave out on purpose).")
    values = pd.to_numeric(frame["selected"], errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        bad = sorted({str(v) for v in frame["selected"][values.isna() | ~values.isin([0, 1])]})[:5]
        raise AuditInputError(f"Selections must be 0 or 1, but contain {', '.join(bad)}. Map the selected "
                              "outcome to 1.")
    frame["selected"] = values.astype(np.int64)
    frame["group"] = frame["group"].astype(str)
    return frame


def adverse_impact(selected: ArrayLike, groups: ArrayLike, *, alpha: float = 0.05, bound: float = FOUR_FIFTHS) -> AdverseImpact:
    """Impact ratios, Fisher and two-standard-deviation tests, flips and shortfalls per group.

    Parameters
    ----------
    selected : array-like of 0/1
        1 for a selected (hired, promoted, passed) person.
    groups : array-like
        Each person's group.
    alpha : float
        Significance level of the tests (0.05: the "two standard deviations" of practice).
    bound : float
        The impact-ratio line the flip count aims for (0.8).

    Raises
    ------
    AuditInputError
        If selections are not 0/1, a row has no group, or no group selected anyone.
    """
    if not 0 < alpha < 1:
        raise AuditInputError(f"alpha must be between 0 and 1, not {alpha}.")
    frame = _validated(selected, groups)
    table = frame.groupby("group", sort=True)["selected"].agg(["size", "sum"])
    rates = table["sum"] / table["size"]
    if not rates.max() > 0:
        raise AuditInputError("No group has any selection, so impact ratios are undefined.")
    # The highest rate; among equal rates the larger group (then the first name) is the comparison.
    order = sorted(table.index, key=lambda g: (-rates[g], -int(table.loc[g, "size"]), g))
    highest = order[0]
    n_h, s_h = int(table.loc[highest, "size"]), int(table.loc[highest, "sum"])
    rows, methods = [], set()
    for group in table.index:
        n_g, s_g = int(table.loc[group, "size"]), int(table.loc[group, "sum"])
        ratio = (s_g / n_g) / (s_h / n_h)
        if group == highest:
            rows.append(AdverseImpactRow(group, n_g, s_g, s_g / n_g, 1.0, False, None, None, None, None, None,
                                         None, None, None, True))
            continue
        fp = fisher_p(s_g, n_g, s_h, n_h)
        z, zp = two_sd_test(s_g, n_g, s_h, n_h)
        flips_f, m1 = flips_to_insignificance(s_g, n_g, s_h, n_h, fisher_p, alpha)
        flips_z, m2 = flips_to_insignificance(s_g, n_g, s_h, n_h, lambda *a: two_sd_test(*a)[1], alpha)
        methods |= {m1, m2}
        rows.append(AdverseImpactRow(
            group=group, n=n_g, selected=s_g, rate=s_g / n_g, impact_ratio=ratio,
            below_four_fifths=ratio < bound, fisher_p=fp, z=z, z_p=zp, flips_fisher=flips_f, flips_z=flips_z,
            flips_to_four_fifths=flips_to_ratio(s_g, n_g, s_h, n_h, bound), shortfall=s_h / n_h * n_g - s_g,
            selections_for_parity=max(0, _ceil_div(s_h * n_g - s_g * n_h, n_h)), is_highest=False))
    method = ("bisection for some groups (more than 5,000 steps to parity)" if "bisection" in methods
              else "exact scan")
    return AdverseImpact(rows=tuple(rows), highest=highest, alpha=alpha, flip_method=method)
