"""Where the web app (``app.py``, ``callbacks/``, ``layouts/``) and the built-in scenarios (``datasets/``) are.

In a checkout they sit top level beside ``auditapp/``. An installed wheel holds them inside the package as
``auditapp._web`` (see ``setup.py``), so installing auditapp adds no top-level import name but
``auditapp``. ``scenario_module`` imports a scenario module from either place; ``web_root`` is the folder the
``auditapp serve`` process puts first on its own ``sys.path`` to import ``app`` and the page modules
(which import each other by their top-level names).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["installed", "scenario_module", "use_web_root", "web_root"]

_PACKAGE = Path(__file__).resolve().parents[1]  # auditapp/


def installed() -> bool:
    """True when running from an installed wheel (the web files live in ``auditapp/_web``)."""
    return (_PACKAGE / "_web" / "app.py").is_file()


def web_root() -> Path:
    """The folder holding ``app.py``, ``callbacks/``, ``layouts/`` and ``datasets/``."""
    return _PACKAGE / "_web" if installed() else _PACKAGE.parent


def use_web_root() -> Path:
    """Put :func:`web_root` on ``sys.path`` (first) so that ``import app`` works; return it."""
    root = str(web_root())
    if root not in sys.path:
        sys.path.insert(0, root)
    return Path(root)


def scenario_module(name: str) -> ModuleType:
    """The built-in scenario module ``datasets.<name>`` (``auditapp._web.datasets.<name>`` when installed).

    Installed, it is imported under the package's own name, so a different ``datasets`` package in the
    same process (e.g. Hugging Face's) is neither shadowed nor in the way.
    """
    if installed():
        return importlib.import_module(f"auditapp._web.datasets.{name}")
    use_web_root()
    return importlib.import_module(f"datasets.{name}")
