"""auditapp: audit trained classifiers for unfair treatment of groups of people.

The library API (``audit``, ``explain``, ``compare_mitigations``, ``simulate``, ``Policy``, ``check``) lives in
:mod:`auditapp.api` and is loaded on first use, so ``import auditapp`` stays cheap. The engine is importable
without Dash; heavy libraries (fairlearn, shap) are imported only inside the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["Policy", "audit", "check", "compare_mitigations", "explain", "simulate"]


def __getattr__(name: str) -> Any:
    # ``audit`` and ``explain`` are also a module and a package of this name; both are callable (see
    # ``auditapp.callable_module``), and returning them keeps ``auditapp.audit`` one object whatever the
    # import order.
    if name in ("audit", "explain"):
        return importlib.import_module(f"auditapp.{name}")
    if name in __all__:
        return getattr(importlib.import_module("auditapp.api"), name)
    raise AttributeError(f"module 'auditapp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
