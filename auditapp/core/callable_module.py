"""Let a module also be called as the library function of the same name.

``from auditapp import explain`` must give the function of :mod:`auditapp.api`, but ``auditapp.explain``
(a module) and ``auditapp.explain`` (a package) already exist: Python binds a submodule as an attribute of
its package whenever it is imported, so a plain function attribute would be replaced by the module,
depending on import order. Those two modules are therefore callable: calling one calls the library
function, whichever object ``from auditapp import ...`` returned.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call is ``auditapp.api.<its short name>``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("auditapp.api")
        return getattr(api, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_callable(name: str) -> None:
    """Make the already-imported module ``name`` callable (see :class:`CallableModule`)."""
    sys.modules[name].__class__ = CallableModule
