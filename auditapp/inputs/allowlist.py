"""Which model files may be opened, and opening them.

skops files are checked name by name against an exact allow-list (``auditapp.inputs.allowlist_names``): every
type, function and method the file would resolve, including the ones skops itself trusts by default,
must be on it, and a ``Pipeline`` may not cache to disk (``memory``). Pickle and joblib files run code
when loaded, so they are unpickled only when the caller has switched trust on. ONNX files run in
onnxruntime on the CPU with one thread, which executes only the graph's operators.

These checks are the first line. The second is that untrusted files are loaded and run only inside a
sandboxed process (``auditapp.inputs.sandbox``); this module is what that process calls.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import threading
import zipfile
from types import ModuleType
from typing import Any

from auditapp.core.errors import AuditInputError, UntrustedModelError
from auditapp.inputs.allowlist_names import ALLOWED

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_MAX_LISTED = 12
_MAX_PRECHECK_ENTRIES = 100_000
_MAX_PRECHECK_SCHEMA = 8 * 1024**2
_SKOPS_IMPORT = threading.Lock()


def skops_io() -> ModuleType:
    """``skops.io``, imported without scikit-learn's estimator discovery.

    At import, skops builds its default list of trusted types from ``sklearn.utils.all_estimators()``,
    which imports every module of scikit-learn: a third of a model process's start-up (~0.2 s of ~1.1 s).
    auditapp never relies on that list: every load passes the exact names its allow-list approved
    (``trusted=``), and skops trusts those plus its defaults. So skops is imported with the discovery
    answering no estimators: its default list is empty and the trusted names are exactly the approved ones
    (stricter, never looser). The discovery function is put back right after.

    It also lists every ufunc of ``scipy.special`` as trusted by default (~0.1 s). None of them is on
    auditapp's allow-list, so when the importing thread is the process's only one (a model process starting:
    nobody else can look), skops sees a ``scipy.special`` with nothing in it while it imports, and that list
    is empty too. (With scipy < 2.0, the version pinned, skops' probe for scipy 2's ufunc wrappers finds
    none either way.)
    """
    loaded = sys.modules.get("skops.io")
    if loaded is not None:
        return loaded
    import scipy
    import sklearn.utils as sklearn_utils

    with _SKOPS_IMPORT:
        discover = sklearn_utils.all_estimators
        sklearn_utils.all_estimators = _no_estimators
        alone = threading.active_count() == 1
        special = scipy.__dict__.get("special")
        if alone:
            scipy.special = ModuleType("scipy.special")  # type: ignore[attr-defined]
        try:
            import skops.io as imported
        finally:
            sklearn_utils.all_estimators = discover
            if alone:
                if special is None:
                    del scipy.special  # type: ignore[attr-defined]
                else:
                    scipy.special = special  # type: ignore[attr-defined]
    module: ModuleType = imported
    return module


def _no_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
    return []


def is_allowed_type(type_name: str) -> bool:
    """Return True when ``type_name`` (a dotted name from a skops file) is on the allow-list, exactly."""
    return type_name in ALLOWED


def skops_type_names(data: bytes, *, name: str) -> set[str]:
    """Every dotted name the skops file ``data`` would resolve when loaded.

    The file is parsed into skops' own tree of nodes (nothing is imported or constructed) and every
    node is visited: its type, the constructor of reduce nodes, the key types of dictionaries, the
    function of method nodes and the bit generator of random generators.

    Raises
    ------
    AuditInputError
        If ``data`` is not a skops file skops can parse.
    """
    skops_io()
    from skops.io._audit import Node, get_tree
    from skops.io._utils import read_schema

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema, context = read_schema(archive)
            tree = get_tree(schema, context, trusted=None)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, TypeError, AttributeError,
            json.JSONDecodeError, RecursionError, NotImplementedError) as exc:
        raise AuditInputError(
            f"{name} is not a valid skops file ({type(exc).__name__}: {str(exc)[:200]}). Save the model "
            "again with skops.io.dump, or upload an ONNX file."
        ) from exc
    names: set[str] = set()
    seen: set[int] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names.add(f"{node.module_name}.{node.class_name}")
        if type(node).__name__ == "MethodNode":
            names.add(f"{node.obj.module_name}.{node.obj.class_name}.{node.func}")
        if type(node).__name__ == "RandomGeneratorNode":
            names.add(f"numpy.random.{node.bit_generator_name}")
        for child in node.children.values():
            items = child if isinstance(child, list) else list(child.values()) if isinstance(child, dict) \
                else [child]
            for item in items:
                if isinstance(item, Node):
                    stack.append(item)
                elif isinstance(item, type):
                    names.add(f"{item.__module__}.{item.__name__}")
    return names


def precheck_skops(data: bytes, *, name: str) -> None:
    """Refuse a skops file before any process is started for it: a bounded read of its ``schema.json``
    (no array or other member is decompressed) and a walk of every node in it, names checked exactly.

    Only ever refuses: a file that passes (or is too large to check cheaply here: more than 100,000
    archive members or an 8 MB schema) is checked again, by skops' own tree, where it is loaded
    (:func:`approved_skops_types`, inside the sandbox and its memory limit).

    Raises
    ------
    UntrustedModelError
        If a node names anything that is not on the allow-list.
    AuditInputError
        If the file is not a ZIP archive with a readable ``schema.json``.
    """
    entries = _zip_entries(data)
    if entries is None or entries > _MAX_PRECHECK_ENTRIES:
        return
    names = schema_names(data, name=name, limit=_MAX_PRECHECK_SCHEMA)
    if names is not None:
        _refuse_unlisted(names, name)


def _zip_entries(data: bytes) -> int | None:
    """The member count of a ZIP archive, read from its end record (None if there is none, or ZIP64)."""
    tail = data[-(22 + 65535):]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    count = int.from_bytes(tail[at + 10:at + 12], "little")
    return None if count == 0xFFFF else count


def schema_names(data: bytes, *, name: str, limit: int = 64 * 1024**2) -> set[str] | None:
    """Every dotted name written in a skops file's ``schema.json`` (read from the raw JSON); None when
    ``schema.json`` is larger than ``limit`` bytes.

    Raises
    ------
    AuditInputError
        If the file is not a ZIP archive with a readable ``schema.json``.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("schema.json") as member:
            raw = member.read(limit + 1)
        if len(raw) > limit:
            return None
        schema = json.loads(raw)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, EOFError, OSError, RuntimeError,
            NotImplementedError, RecursionError, UnicodeDecodeError) as exc:
        raise AuditInputError(
            f"{name} is not a valid skops file ({type(exc).__name__}: {str(exc)[:200]}). Save the model "
            "again with skops.io.dump, or upload an ONNX file."
        ) from exc
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if "__class__" in node or "__module__" in node:
            names.add(f"{node.get('__module__')}.{node.get('__class__')}")
        content = node.get("content")
        if node.get("__loader__") == "MethodNode" and isinstance(content, dict):
            obj = content.get("obj")
            owner: dict[str, Any] = obj if isinstance(obj, dict) else {}
            names.add(f"{owner.get('__module__')}.{owner.get('__class__')}.{content.get('func')}")
        if node.get("__loader__") == "RandomGeneratorNode" and isinstance(content, dict):
            try:
                generator = json.loads(content["bit_generator"]["content"]["bit_generator"]["content"])
            except (KeyError, TypeError, ValueError):
                generator = None
            names.add(f"numpy.random.{generator}")
        stack.extend(node.values())
    return names


def _refuse_unlisted(names: set[str], name: str) -> None:
    refused = sorted(n for n in names if not is_allowed_type(n))
    if refused:
        shown = ", ".join(refused[:_MAX_LISTED]) + (f" and {len(refused) - _MAX_LISTED} more"
                                                    if len(refused) > _MAX_LISTED else "")
        raise UntrustedModelError(
            f"{name} needs types that are not on auditapp's allow-list, so it was not loaded: {shown}. "
            "Only scikit-learn estimators and the NumPy/SciPy types they store are loaded (no functions "
            "that read or write files or run code). Rebuild the model from those, or convert it to ONNX."
        )


def approved_skops_types(data: bytes, *, name: str) -> list[str]:
    """Check every name a skops file uses against the allow-list; return them (``trusted=`` for skops).

    Raises
    ------
    UntrustedModelError
        If the file names anything that is not on the allow-list (the message lists what).
    AuditInputError
        If ``data`` is not a skops file.
    """
    names = skops_type_names(data, name=name)
    _refuse_unlisted(names, name)
    return sorted(names)


def check_loaded_estimator(estimator: Any, *, name: str) -> None:
    """Refuse a loaded model whose pipelines would cache to disk (``memory``) when refitted.

    Raises
    ------
    UntrustedModelError
        If any ``memory`` parameter of the estimator or its parts is set.
    """
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return
    try:
        params = get_params(deep=True)
    except Exception as exc:  # noqa: BLE001 - a crafted object whose parameters cannot be read
        raise AuditInputError(f"{name} holds a model whose settings cannot be read ({type(exc).__name__}). "
                              "Save the fitted model again with skops.io.dump.") from exc
    cached = sorted(k for k, v in params.items() if (k == "memory" or k.endswith("__memory")) and v is not None)
    if cached:
        raise UntrustedModelError(
            f"{name} sets {', '.join(cached)}, which would make refitting write a cache to disk and read it "
            "back. Set memory=None before saving the model.")


def load_skops_estimator(data: bytes, *, name: str) -> Any:
    """Load a skops file after checking every name it uses against the allow-list.

    Raises
    ------
    UntrustedModelError
        If the file needs a name that is not on the allow-list, or a pipeline caches to disk.
    AuditInputError
        If ``data`` is not a skops file.
    """
    sio = skops_io()
    trusted = approved_skops_types(data, name=name)
    try:
        estimator = sio.loads(data, trusted=trusted)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise AuditInputError(f"{name} could not be loaded as a skops file ({type(exc).__name__}: "
                              f"{str(exc)[:200]}). Save the model again with skops.io.dump.") from exc
    check_loaded_estimator(estimator, name=name)
    return estimator


def looks_like_pickle(data: bytes) -> bool:
    """Return True when ``data`` starts like a pickle (protocol 2 or later: ``0x80`` + version)."""
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def refuse_untrusted_pickle(name: str) -> None:
    """Raise the message for a pickle/joblib file opened without trust."""
    raise UntrustedModelError(
        f"{name} is a pickle/joblib file, and pickle runs code when it is loaded, so auditapp "
        "did not open it. If you made the file yourself and run auditapp only for yourself, "
        "switch pickle trust on (AUDITAPP_TRUST_PICKLE=1, or --trust-pickle in the CLI). "
        "Otherwise convert the model to skops (skops.io.dump) or ONNX (skl2onnx) and upload "
        "that."
    )


def load_pickle_estimator(data: bytes, *, name: str, trusted: bool) -> Any:
    """Unpickle a pickle/joblib file, but only when ``trusted`` is True.

    Raises
    ------
    UntrustedModelError
        If ``trusted`` is False (nothing is unpickled).
    AuditInputError
        If the file cannot be unpickled.
    """
    if not trusted:
        refuse_untrusted_pickle(name)
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except (pickle.UnpicklingError, EOFError, ImportError, AttributeError, OSError, ValueError,
            TypeError) as exc:
        raise AuditInputError(
            f"{name} could not be unpickled ({type(exc).__name__}: {exc}). Check that the file is "
            "complete and that the libraries it was saved with are installed."
        ) from exc


def open_onnx_session(data: bytes, *, name: str) -> Any:
    """Return an onnxruntime InferenceSession for ``data`` (CPU provider, one thread).

    Raises
    ------
    AuditInputError
        If ``data`` is not a valid ONNX model.
    """
    import onnxruntime as ort
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(data, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except (ort_errors.InvalidProtobuf, ort_errors.InvalidGraph, ort_errors.Fail,
            ort_errors.InvalidArgument, ort_errors.NotImplemented) as exc:
        raise AuditInputError(
            f"{name} is not a valid ONNX model: {exc}. Export the model again "
            "(skl2onnx.to_onnx) and upload the .onnx file."
        ) from exc
