"""How much data would settle an inconclusive verdict: rows per group for 80% power.

The two-proportion power formula (normal approximation): to tell an observed gap ``d`` from the bound
``B`` it crosses, with a two-sided test at level ``alpha`` (the level the verdict's interval used,
Bonferroni-adjusted where it was) and power ``1 − beta``, each group needs a denominator of about

    n = (z_{1−alpha/2} + z_{1−beta})² · (p1(1 − p1) + p2(1 − p2)) / (d − B)²

for a difference; for a ratio ``r`` against ``R`` the same on the log scale,
``(z + z)² · ((1 − p1)/p1 + (1 − p2)/p2) / (log r − log R)²``; for one rate against a bound,
``(z + z)² · p(1 − p) / (p − B)²``. The rates are the observed ones. A denominator (e.g. the people
with the favourable outcome, for a true positive rate) becomes rows through the group's observed share
of rows in that denominator, the smaller share of the two groups, so the answer is rows per group.
"""

from __future__ import annotations

import math

from auditapp.core.intervals import z_value

POWER = 0.8


def rows_needed(*, measure: str, value: float, bound: float, p1: float, p2: float | None,
                share: float, alpha: float, power: float = POWER) -> int | None:
    """Rows per group that would likely decide a check, or None when no amount of data would.

    Parameters
    ----------
    measure : {"rate", "difference", "ratio"}
    value, bound : float
        The observed number and the bound its interval crosses.
    p1, p2 : float
        The observed rates of the group and of the group it is compared with (None for a rate).
    share : float
        Rows in the rate's denominator per row of the group (1 for a selection rate).
    alpha : float
        The two-sided level of the verdict's interval (1 − confidence, adjusted as the interval was).
    """
    if any(x is None or not math.isfinite(x) for x in (value, bound, p1, share)) or share <= 0:
        return None
    z = float(z_value(1 - alpha)) + float(z_value(2 * power - 1))
    rates = [p1] if p2 is None else [p1, p2]
    if p2 is not None and not math.isfinite(p2):
        return None
    rates = [min(max(p, 1e-3), 1 - 1e-3) for p in rates]
    if measure == "ratio":
        if value <= 0 or bound <= 0:
            return None
        effect = math.log(value) - math.log(bound)
        variance = sum((1 - p) / p for p in rates)
    else:
        effect = value - bound
        variance = sum(p * (1 - p) for p in rates)
    if effect == 0:
        return None
    denominator = z * z * variance / (effect * effect)
    return int(math.ceil(denominator / min(share, 1.0)))
