"""The feedback-loop scenarios as data: each name maps to its module, parameters type and function.

Modules are imported by name when a scenario is run, so the runner never imports a scenario module
(no cycle: scenario modules import :mod:`auditapp.feedback.base` only) and importing the runner stays
cheap (the model loop brings scikit-learn). A new scenario is one more row here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SCENARIOS", "Scenario", "scenario"]


@dataclass(frozen=True)
class Scenario:
    """Where one simulation lives: ``module`` defines ``params`` (a frozen dataclass) and ``simulate``."""

    module: str
    params: str
    simulate: str


SCENARIO_TABLE: dict[str, Scenario] = {
    "policing": Scenario("auditapp.feedback.policing", "PolicingParams", "simulate_policing"),
    "lending": Scenario("auditapp.feedback.lending", "LendingParams", "simulate_lending"),
    "model-loop": Scenario("auditapp.feedback.model_loop", "ModelLoopParams", "simulate_model_loop"),
}
SCENARIOS: tuple[str, ...] = tuple(SCENARIO_TABLE)


def scenario(name: str) -> tuple[type, Callable[..., Any]]:
    """The parameters type and the simulate function of the scenario ``name`` (a key of the table)."""
    entry = SCENARIO_TABLE[name]
    module = importlib.import_module(entry.module)
    return getattr(module, entry.params), getattr(module, entry.simulate)
