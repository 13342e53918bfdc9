"""Walk numpy, scipy and scikit-learn as an attacker would; print what a skops file could name (JSON).

Run as a script (the tests start it in a fresh interpreter: importing every submodule has side effects
on warnings and module state). For every module that imports, every attribute is a dotted name a skops
file could write (``module.attr``: skops calls ``getattr(import_module(module), attr)``), re-exports
included (``numpy.matlib.load`` is ``numpy.load``). Reported: how many modules and names were reached,
which names resolve to a callable that reads, writes, deletes, imports, executes or unpickles, and
what every allow-listed name resolves to.

Test suites of the libraries are skipped: they import pytest, which a production install lacks.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import json
import pkgutil
import sys
import warnings

PACKAGES = ("numpy", "scipy", "sklearn")


def dangerous_objects() -> dict[int, str]:
    """Callables that touch files, processes, the network, imports or pickles, by identity."""
    import glob
    import marshal
    import os
    import pathlib
    import pickle
    import runpy
    import shelve
    import shutil
    import socket
    import subprocess
    import tarfile
    import tempfile
    import urllib.request
    import zipfile

    import joblib
    import numpy as np
    import scipy.io

    found: dict[int, str] = {}
    generic = {"collections.abc", "_collections_abc", "typing", "abc", "enum", "functools", "builtins"}

    def add(obj, label, *, explicit=True):
        if callable(obj) and (explicit or getattr(obj, "__module__", None) not in generic):
            found.setdefault(id(obj), label)

    for module in (os, shutil, subprocess, tempfile, socket, runpy, marshal, shelve, glob, urllib.request,
                   pathlib, scipy.io):
        for name in dir(module):
            if not name.startswith("__"):
                add(getattr(module, name), f"{module.__name__}.{name}", explicit=False)
    for name in ("open", "exec", "eval", "compile", "__import__", "breakpoint", "input"):
        add(getattr(builtins, name), f"builtins.{name}")
    for obj, label in ((io.open, "io.open"), (io.FileIO, "io.FileIO"), (io.open_code, "io.open_code"),
                       (importlib.import_module, "importlib.import_module"), (importlib.reload, "importlib.reload"),
                       (pickle.load, "pickle.load"), (pickle.loads, "pickle.loads"), (pickle.Unpickler, "pickle.Unpickler"),
                       (pickle.dump, "pickle.dump"), (zipfile.ZipFile, "zipfile.ZipFile"), (tarfile.open, "tarfile.open"),
                       (joblib.load, "joblib.load"), (joblib.dump, "joblib.dump"), (joblib.Memory, "joblib.Memory")):
        add(obj, label)
    for name in ("load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
                 "fromregex", "memmap"):
        add(getattr(np, name), f"numpy.{name}")
    from numpy.lib import format as npy_format

    for name in ("open_memmap", "read_array", "write_array"):
        add(getattr(npy_format, name), f"numpy.lib.format.{name}")
    add(np.lib.npyio.DataSource, "numpy.lib.npyio.DataSource")
    return found


def walk() -> dict:
    modules = {}
    for package in PACKAGES:
        root = importlib.import_module(package)
        modules[package] = root
        for info in pkgutil.walk_packages(root.__path__, package + ".", onerror=lambda name: None):
            if ".tests" in info.name or info.name.rsplit(".", 1)[-1] in ("conftest", "testing_utils"):
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    modules[info.name] = importlib.import_module(info.name)
            except BaseException:  # noqa: BLE001 - a module that does not import cannot be named
                continue
    from auditapp.inputs.allowlist_names import ALLOWED

    danger = dangerous_objects()
    reachable, dangerous, allowed_reachable = 0, {}, []
    for module_name, module in modules.items():
        for attr in dir(module):
            try:
                obj = getattr(module, attr)
            except BaseException:  # noqa: BLE001 - lazy attributes that fail cannot be named either
                continue
            dotted = f"{module_name}.{attr}"
            reachable += 1
            if id(obj) in danger:
                dangerous[dotted] = danger[id(obj)]
            if dotted in ALLOWED:
                allowed_reachable.append(dotted)
    kinds = {}
    for name in sorted(ALLOWED):
        module, _, attr = name.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            kinds[name] = "missing"
            continue
        import numpy as np

        kinds[name] = ("dangerous" if id(obj) in danger else "class" if isinstance(obj, type)
                       else "ufunc" if isinstance(obj, np.ufunc) else "function")
    return {"modules": len(modules), "reachable": reachable, "dangerous": dangerous,
            "allowed_reachable": sorted(allowed_reachable), "kinds": kinds}


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    result = walk()
    sys.stdout.write(json.dumps(result))
