"""Built-in scenarios and loaders for public fairness datasets.

- :mod:`datasets.hiring`: the seeded hiring scenario (biased labels, a proxy for sex) and its
  model; ``write_demo`` writes both for ``auditapp demo hiring``.
- :mod:`datasets.public`: ProPublica COMPAS, UCI Adult and the FICO/TransRisk tables, downloaded
  on first use and checked by sha256 (:mod:`datasets.download`).

Names are imported on first use, so ``import datasets`` stays cheap and loading a public
dataset does not import scikit-learn.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "HIRING_FEATURES": "datasets.hiring",
    "SCENARIO": "datasets.hiring",
    "Scenario": "datasets.hiring",
    "generate_hiring": "datasets.hiring",
    "train_hiring_model": "datasets.hiring",
    "write_demo": "datasets.hiring",
    "FicoTables": "datasets.public",
    "load_adult": "datasets.public",
    "load_compas": "datasets.public",
    "load_fico": "datasets.public",
    "parse_adult": "datasets.public",
    "parse_compas": "datasets.public",
    "parse_fico": "datasets.public",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
