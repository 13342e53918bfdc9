"""Which model files may be opened, and opening them safely.

skops files list the types they need; types outside skops' own trusted set are checked here
against an allow-list of scikit-learn, numpy and scipy (and the xgboost and lightgbm learners),
minus functions in those packages that read or write files or run code. Pickle and joblib files run
code when loaded, so they are unpickled only when the caller has switched trust on. ONNX files run
in onnxruntime on the CPU with one thread, which executes only the graph's operators.
"""

from __future__ import annotations

import io
import pickle
import zipfile

from auditapp.errors import AuditInputError, UntrustedModelError

SKOPS_ALLOWED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "xgboost.", "lightgbm.")
SKOPS_ALLOWED_TYPES = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "numpy.dtype",
    # auditapp's own mitigated models (exported by the Mitigation page) and the fairlearn step they use
    "auditapp.mitigation.post.GroupThresholdClassifier",
    "auditapp.mitigation.inprocessing.RandomizedEnsembleClassifier",
    "fairlearn.preprocessing._correlation_remover.CorrelationRemover",
})
# Names under the allowed prefixes that touch files, compile code or exist only for testing:
# a FunctionTransformer(func=numpy.load) would otherwise pass the prefix check.
SKOPS_DENIED_PREFIXES = (
    "numpy.load", "numpy.save", "numpy.fromfile", "numpy.memmap", "numpy.genfromtxt",
    "numpy.lib.npyio", "numpy.lib._npyio_impl", "numpy.lib.format", "numpy.f2py",
    "numpy.distutils", "numpy.testing", "numpy.ctypeslib", "numpy.lib._datasource",
    "scipy.io", "scipy._lib._testutils", "sklearn.datasets", "sklearn.utils._testing",
    "sklearn.externals",
)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


def is_allowed_type(type_name: str) -> bool:
    """Return True when ``type_name`` (a dotted name from skops) is on the allow-list."""
    if type_name in SKOPS_ALLOWED_TYPES:
        return True
    if type_name.startswith(SKOPS_DENIED_PREFIXES):
        return False
    return type_name.startswith(SKOPS_ALLOWED_PREFIXES)


def approved_skops_types(data: bytes, *, name: str) -> list[str]:
    """Check the types a skops file needs against the allow-list; return the approved list.

    The returned list is what to pass as ``trusted=`` to :func:`skops.io.loads`.

    Parameters
    ----------
    data : bytes
        The raw skops file.
    name : str
        The file name, for messages.

    Raises
    ------
    UntrustedModelError
        If the file needs a type that is not on the allow-list (the message names them all).
    AuditInputError
        If ``data`` is not a skops file.
    """
    import skops.io as sio

    try:
        needed = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise AuditInputError(
            f"{name} is not a valid skops file ({exc}). Save the model again with "
            "skops.io.dump, or upload an ONNX file."
        ) from exc
    refused = sorted(t for t in needed if not is_allowed_type(t))
    if refused:
        raise UntrustedModelError(
            f"{name} needs types that are not on auditapp's allow-list, so it was not loaded: "
            f"{', '.join(refused)}. Only scikit-learn, numpy and scipy types (and xgboost/lightgbm "
            "learners) are loaded. Rebuild the model from those, or convert it to ONNX."
        )
    return list(needed)


def looks_like_pickle(data: bytes) -> bool:
    """Return True when ``data`` starts like a pickle (protocol 2 or later: ``0x80`` + version)."""
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5



def load_skops_estimator(data: bytes, *, name: str):
    """Load a skops file after checking its types against the allow-list.

    Raises
    ------
    UntrustedModelError
        If the file needs a type that is not on the allow-list.
    AuditInputError
        If ``data`` is not a skops file.
    """
    import skops.io as sio

    return sio.loads(data, trusted=approved_skops_types(data, name=name))


def load_pickle_estimator(data: bytes, *, name: str, trusted: bool):
    """Unpickle a pickle/joblib file, but only when ``trusted`` is True.

    Raises
    ------
    UntrustedModelError
        If ``trusted`` is False (nothing is unpickled).
    AuditInputError
        If the file cannot be unpickled.
    """
    if not trusted:
        raise UntrustedModelError(
            f"{name} is a pickle/joblib file, and pickle runs code when it is loaded, so auditapp "
            "did not open it. If you made the file yourself and run auditapp only for yourself, "
            "switch pickle trust on (AUDITAPP_TRUST_PICKLE=1, or --trust-pickle in the CLI). "
            "Otherwise convert the model to skops (skops.io.dump) or ONNX (skl2onnx) and upload "
            "that."
        )
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except (pickle.UnpicklingError, EOFError, ImportError, AttributeError) as exc:
        raise AuditInputError(
            f"{name} could not be unpickled ({type(exc).__name__}: {exc}). Check that the file is "
            "complete and that the libraries it was saved with are installed."
        ) from exc


def open_onnx_session(data: bytes, *, name: str):
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
