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
    "HIRING_FEATURES": "hiring",
    "SCENARIO": "hiring",
    "Scenario": "hiring",
    "generate_hiring": "hiring",
    "train_hiring_model": "hiring",
    "write_demo": "hiring",
    "FicoTables": "public",
    "load_adult": "public",
    "load_compas": "public",
    "load_fico": "public",
    "parse_adult": "public",
    "parse_compas": "public",
    "parse_fico": "public",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
