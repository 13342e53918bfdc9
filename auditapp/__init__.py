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
    # ``explain`` is also a package of this name; it is callable (see ``auditapp.core.callable_module``), and
    # returning it keeps ``auditapp.explain`` one object whatever the import order.
    if name == "explain":
        return importlib.import_module("auditapp.explain")
    if name in __all__:
        return getattr(importlib.import_module("auditapp.api"), name)
    raise AttributeError(f"module 'auditapp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
