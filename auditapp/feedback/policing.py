"""Predictive policing as a generalised Pólya urn (Ensign et al., FAT* 2018).

Model (one "draw" is one day, vectorised over independent runs):

- Region ``i`` has ``Poisson(rate_i)`` incidents a day. A share ``reported_share`` of them is
  reported by residents whatever the police do; the rest can only be *discovered* by a patrol.
- The urn holds the incidents recorded so far (``initial_counts`` to start). Each day the patrol
  goes to region ``i`` with probability ``p_i`` = its share of the recorded incidents.
- The patrolled region adds its discovered incidents (``Poisson((1 - reported_share) * rate_i)``);
  every region adds its reported incidents (``Poisson(reported_share * rate_i)``).
- Correction (the authors' fix): a discovered incident in region ``i`` is recorded only with
  probability proportional to ``1 / p_i`` (scaled so the largest is 1: ``min_j p_j / p_i``). For two
  regions this is exactly the paper's "proportional to 1 − p_i", since ``1 − p_A = p_B``; for more
  regions it is the form that keeps each region's expected recorded discoveries proportional to its
  true rate, so the allocation settles at ``rate_i / Σ rate``.

Without the correction the urn "runs away": with ``rate_A > rate_B`` the share of region A tends to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.feedback.base import (
    MAX_DRAWS,
    MAX_RUNS,
    MAX_TOTAL_DRAWS,
    Progress,
    SimulationResult,
    check_count,
    check_rates,
    check_share,
    concat_series,
    params_dict,
    report_progress,
    tidy_series,
)

MAX_REGIONS = 50
QUANTILES = (0.1, 0.5, 0.9)
_BLOCK = 1_000


def region_names(k: int) -> tuple[str, ...]:
    """Default region names: A, B, C, ... (then R27, R28, ...)."""
    return tuple(chr(65 + i) if i < 26 else f"R{i + 1}" for i in range(k))


@dataclass(frozen=True)
class PolicingParams:
    """Settings of the predictive-policing urn.

    Parameters
    ----------
    rates : sequence of float
        True daily incident rate of each region (at least two, none negative, not all zero).
    steps : int
        Days (urn draws) per run, at most 1,000,000.
    runs : int
        Independent runs, at most 1,000 (and steps × runs at most 20,000,000).
    reported_share : float
        Share of incidents reported by residents independently of patrols, in [0, 1].
    corrected : bool
        Apply the authors' correction to discovered incidents.
    initial_counts : sequence of float, optional
        Recorded incidents per region before the first day (all positive); 1 each by default.
    regions : sequence of str, optional
        Region names; ``A``, ``B``, ... by default.
    """

    rates: tuple[float, ...] = (3.69, 2.82)
    steps: int = 20_000
    runs: int = 100
    reported_share: float = 0.0
    corrected: bool = False
    initial_counts: tuple[float, ...] | None = None
    regions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        rates = check_rates("The incident rates", self.rates, minimum_length=2)
        if len(rates) > MAX_REGIONS:
            raise AuditInputError(
                f"The urn supports at most {MAX_REGIONS} regions, but got {len(rates)} rates. "
                "Merge some regions."
            )
        if sum(rates) <= 0:
            raise AuditInputError(
                "All incident rates are 0, so there is nothing to discover and no true share. "
                "Give at least one region a positive rate."
            )
        steps = check_count("The number of steps", self.steps, maximum=MAX_DRAWS)
        runs = check_count("The number of runs", self.runs, maximum=MAX_RUNS)
        if steps * runs > MAX_TOTAL_DRAWS:
            raise AuditInputError(
                f"steps × runs is {steps * runs:,}, above the limit of {MAX_TOTAL_DRAWS:,} draws. "
                "Use fewer steps or fewer runs."
            )
        counts = self.initial_counts
        if counts is None:
            counts = (1.0,) * len(rates)
        counts = check_rates("The initial counts", counts, minimum_length=1)
        if len(counts) != len(rates):
            raise AuditInputError(
                f"There are {len(rates)} rates but {len(counts)} initial counts. "
                "Give one initial count per region."
            )
        if min(counts) <= 0:
            raise AuditInputError(
                f"Every initial count must be positive, but got {min(counts):g}: a region with no "
                "recorded incident would never be patrolled. Start each region with at least 1."
            )
        names = region_names(len(rates)) if self.regions is None else tuple(map(str, self.regions))
        if len(names) != len(rates) or len(set(names)) != len(names):
            raise AuditInputError(
                f"Give {len(rates)} distinct region names, one per rate, but got {list(names)}."
            )
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "reported_share", check_share("The reported share", self.reported_share))
        object.__setattr__(self, "corrected", bool(self.corrected))
        object.__setattr__(self, "initial_counts", counts)
        object.__setattr__(self, "regions", names)

    @property
    def names(self) -> tuple[str, ...]:
        """The regions' names (filled in by ``__post_init__`` when none were given)."""
        return region_names(len(self.rates)) if self.regions is None else tuple(self.regions)

    @property
    def true_share(self) -> np.ndarray:
        """Each region's share of all incidents, ``rate_i / Σ rate``."""
        rates = np.asarray(self.rates, dtype=np.float64)
        return np.asarray(rates / rates.sum(), dtype=np.float64)


def simulate_policing(params: PolicingParams, *, seed: int | None = None,
                      progress: Progress | None = None) -> SimulationResult:
    """Run the predictive-policing urn and summarise the patrol share per region over time.

    Parameters
    ----------
    params : PolicingParams
        The urn settings.
    seed : int, optional
        Seed for ``np.random.default_rng``.
    progress : callable, optional
        Called with the fraction of days simulated.

    Returns
    -------
    SimulationResult
        ``series`` holds, per day (``step`` 1..steps) and region, ``mean_share`` (mean over runs of
        the patrol probability after that day), ``median_share`` and the ``low_share``/``high_share``
        band (10th and 90th percentile over runs). ``tables["final_share"]`` holds each run's final shares.
    """
    rng = np.random.default_rng(seed)
    k, runs, steps = len(params.rates), params.runs, params.steps
    rates = np.asarray(params.rates, dtype=float)
    discover_rate = (1.0 - params.reported_share) * rates
    report_rate = params.reported_share * rates
    counts = np.tile(np.asarray(params.initial_counts, dtype=float), (runs, 1))
    rows = np.arange(runs)
    mean = np.empty((steps, k))
    band = np.empty((len(QUANTILES), steps, k))
    block_share = np.empty((min(_BLOCK, steps), runs, k))
    for start in range(0, steps, _BLOCK):
        size = min(_BLOCK, steps - start)
        pick = rng.random((size, runs))
        keep = rng.random((size, runs)) if params.corrected else None
        reported = rng.poisson(report_rate, size=(size, runs, k)) if params.reported_share > 0 else None
        for t in range(size):
            total = counts.sum(axis=1)
            cumulative = counts.cumsum(axis=1)
            choice = np.minimum((cumulative <= (pick[t] * total)[:, None]).sum(axis=1), k - 1)
            found = rng.poisson(discover_rate[choice])
            if keep is not None:
                shares = counts / total[:, None]
                accept = shares.min(axis=1) / shares[rows, choice]
                found = np.where(keep[t] < accept, found, 0)
            counts[rows, choice] += found
            if reported is not None:
                counts += reported[t]
            block_share[t] = counts / counts.sum(axis=1)[:, None]
        mean[start:start + size] = block_share[:size].mean(axis=1)
        band[:, start:start + size] = np.quantile(block_share[:size], QUANTILES, axis=1)
        report_progress(progress, (start + size) / steps)
    final = counts / counts.sum(axis=1)[:, None]
    return _result(params, seed, mean, band, final)


def _result(params: PolicingParams, seed: int | None, mean: np.ndarray, band: np.ndarray,
            final: np.ndarray) -> SimulationResult:
    regions = params.names
    day = np.arange(1, params.steps + 1)
    series = concat_series([
        tidy_series(day, "mean_share", regions, mean),
        tidy_series(day, "low_share", regions, band[0]),
        tidy_series(day, "median_share", regions, band[1]),
        tidy_series(day, "high_share", regions, band[2]),
    ])
    true_share = params.true_share
    top = int(np.argmax(true_share))
    summary = {
        "regions": list(regions),
        "true_share": true_share.tolist(),
        "final_mean_share": mean[-1].tolist(),
        "final_low_share": band[0, -1].tolist(),
        "final_median_share": band[1, -1].tolist(),
        "final_high_share": band[2, -1].tolist(),
        "max_error": float(np.abs(mean[-1] - true_share).max()),
        "top_region": regions[top],
        "runs_over_80_percent": (final > 0.8).mean(axis=0).tolist(),
    }
    final_table = pd.DataFrame(final, columns=list(regions))
    final_table.index.name = "run"
    return SimulationResult(
        scenario="policing", params=params_dict(params), seed=seed, series=series,
        summary=summary, narrative=_narrative(params, summary), tables={"final_share": final_table},
    )


def _narrative(params: PolicingParams, summary: dict[str, Any]) -> tuple[str, ...]:
    regions = summary["regions"]
    top = regions.index(summary["top_region"])
    name = summary["top_region"]
    true, final = summary["true_share"][top], summary["final_mean_share"][top]
    median = summary["final_median_share"][top]
    low, high = summary["final_low_share"][top], summary["final_high_share"][top]
    lines = [
        f"Region {name} has {true:.1%} of all incidents, but after {params.steps:,} days the "
        f"patrols go there {final:.1%} of the time on average over {params.runs} runs (median "
        f"{median:.1%}; 10th–90th percentile: {low:.1%} to {high:.1%}).",
    ]
    if summary["max_error"] > 0.05 or high - low > 0.1:
        lines.append(
            "Police only discover incidents where they patrol, and each discovery makes the next "
            "patrol there more likely: the allocation has run away from the true share."
        )
        locked = summary["runs_over_80_percent"]
        elsewhere = sum(share for i, share in enumerate(locked) if i != top)
        lines.append(
            f"In {locked[top]:.0%} of runs more than 80% of patrols go to region {name}"
            + (f"; in {elsewhere:.0%} an early run of luck locked them onto another region."
               if elsewhere > 0 else ".")
        )
    else:
        lines.append(
            f"The allocation matches the true share to within {summary['max_error']:.1%} in "
            "every region, and the runs agree."
        )
    if params.corrected:
        lines.append(
            "The correction records a discovered incident less often where police are sent more "
            "often (probability proportional to 1 − p_i for two regions), which cancels the "
            "sampling bias of the patrols."
        )
    if params.reported_share > 0:
        lines.append(
            f"{params.reported_share:.0%} of incidents are reported by residents whatever the "
            "patrols do; these pull the allocation toward the true share."
        )
    lines.append(
        "Try: switch the correction on and off, raise the reported share, or make the rates equal "
        "and watch single runs lock onto either region by chance."
    )
    return tuple(lines)


def policing_json(result: SimulationResult) -> dict[str, Any]:
    """The ``auditapp.simulate/1`` keys of a policing result: true share and mean share per step."""
    mean = result.series_wide("mean_share")
    low = result.series_wide("low_share")
    high = result.series_wide("high_share")
    return {
        "regions": result.summary["regions"],
        "true_share": result.summary["true_share"],
        "share": mean.to_numpy().tolist(),
        "share_low": low.to_numpy().tolist(),
        "share_median": result.series_wide("median_share").to_numpy().tolist(),
        "share_high": high.to_numpy().tolist(),
    }
