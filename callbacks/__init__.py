"""Thin Dash callbacks, one module per page: read ids → load from the store → call auditapp → figures.

Importing this package imports every page module in it, which registers their ``@callback``s.
"""

import importlib
import pkgutil

_SUPPORT = {"assets", "browser_session", "context", "first_view", "managers", "routes", "shell"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _SUPPORT:
        importlib.import_module(f"{__name__}.{_module.name}")
