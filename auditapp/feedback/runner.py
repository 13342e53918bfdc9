"""One entry point for every feedback-loop simulation: :func:`run_simulation` looks the scenario up in
the registry (:mod:`auditapp.feedback.registry`), so the app and the command line call one function.

The shared pieces (``SimulationResult``, the validation helpers) live in :mod:`auditapp.feedback.base`
and are re-exported here for callers that import them from the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.feedback.base import (
    MAX_DRAWS,
    MAX_ROUNDS,
    MAX_RUNS,
    MAX_TOTAL_DRAWS,
    SERIES_COLUMNS,
    Progress,
    SimulationResult,
    check_count,
    check_number,
    check_rates,
    check_share,
    concat_series,
    params_dict,
    report_progress,
    tidy_series,
    to_plain,
)
from auditapp.feedback.registry import SCENARIOS, scenario

__all__ = ["MAX_DRAWS", "MAX_ROUNDS", "MAX_RUNS", "MAX_TOTAL_DRAWS", "SCENARIOS", "SERIES_COLUMNS", "Progress",
           "SimulationResult", "check_count", "check_number", "check_rates", "check_share", "concat_series",
           "params_dict", "report_progress", "run_simulation", "tidy_series", "to_plain"]


def run_simulation(name: str, params: Any = None, *, seed: int | None = None,
                   progress: Progress | None = None) -> SimulationResult:
    """Run the named feedback-loop simulation.

    Parameters
    ----------
    name : str
        ``"policing"``, ``"lending"`` or ``"model-loop"`` (``"model_loop"`` also works).
    params : dataclass or mapping, optional
        A ``PolicingParams``/``LendingParams``/``ModelLoopParams`` instance, or a mapping of its
        keyword arguments. ``None`` uses the scenario's defaults (not possible for the model loop,
        which needs data).
    seed : int, optional
        Seed for ``np.random.default_rng``; the same seed gives the same result.
    progress : callable, optional
        Called with the fraction of work done (0 to 1) as the run goes.

    Returns
    -------
    SimulationResult

    Raises
    ------
    AuditInputError
        If the name is unknown or the parameters are impossible.
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in SCENARIOS:
        raise AuditInputError(
            f"There is no simulation called {name!r}. Choose one of: {', '.join(SCENARIOS)}."
        )
    params_type, simulate = scenario(key)
    if params is None:
        params = {}
    if isinstance(params, Mapping):
        try:
            params = params_type(**params)
        except TypeError as exc:
            raise AuditInputError(f"Bad settings for the {key} simulation: {exc}.") from exc
    elif not isinstance(params, params_type):
        raise AuditInputError(
            f"The {key} simulation takes {params_type.__name__}, but got {type(params).__name__}."
        )
    result: SimulationResult = simulate(params, seed=seed, progress=progress)
    return result
