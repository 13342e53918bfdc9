"""Which folders become which packages (everything else is in pyproject.toml).

The wheel installs one import name, ``auditapp``. The web app (``app.py``, ``callbacks/``, ``layouts/``) and
the built-in scenarios (``datasets/``) stay top level in the checkout and are installed inside the package
as ``auditapp._web`` (``app.py`` and ``celery_app.py`` from the checkout's root, the folders beside them);
``auditapp.service.webroot`` finds them in either place.
"""

from setuptools import find_packages, setup

WEB = {
    "auditapp._web": ".",
    "auditapp._web.callbacks": "callbacks",
    "auditapp._web.layouts": "layouts",
    "auditapp._web.layouts.pages": "layouts/pages",
    "auditapp._web.datasets": "datasets",
}

setup(packages=[*find_packages(include=["auditapp", "auditapp.*"]), *WEB], package_dir=WEB)
