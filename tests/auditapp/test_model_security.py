"""Security tests for model intake: pickle is never opened without trust; skops allow-list."""

import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from auditapp.core.errors import AuditInputError, UntrustedModelError
from auditapp.inputs.allowlist import is_allowed_type, looks_like_pickle
from auditapp.inputs.models import load_model


class MakesDirectoryWhenUnpickled:
    """Unpickling this object calls os.mkdir(path): proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class SneakyTransformer(TransformerMixin, BaseEstimator):
    """A transformer skops would have to import from this test module to load."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


@pytest.fixture()
def frame():
    return pd.DataFrame({"x": np.linspace(-1, 1, 20)})


@pytest.fixture()
def labels():
    return np.array([0, 1] * 10)


def test_malicious_pickle_is_not_run_without_trust(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDITAPP_TRUST_PICKLE", raising=False)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(MakesDirectoryWhenUnpickled(marker))
    for filename in ("model.pkl", "model.joblib", "model.skops", "model.onnx", None):
        with pytest.raises(UntrustedModelError, match="pickle runs code when it is loaded"):
            load_model(payload, filename=filename)
    assert not marker.exists()


def test_malicious_pickle_file_on_disk_is_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITAPP_TRUST_PICKLE", "1")  # the library reads no environment: only trust_pickle=True trusts
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pickle"
    path.write_bytes(pickle.dumps(MakesDirectoryWhenUnpickled(marker)))
    with pytest.raises(UntrustedModelError, match="AUDITAPP_TRUST_PICKLE=1.*--trust-pickle"):
        load_model(path)
    assert not marker.exists()


def test_payload_really_runs_when_trust_is_on(tmp_path):
    # Proves the test payload works: opened in this process (as auditapp does only for files its own
    # code wrote), it creates the directory, so the refused loads above would have too.
    marker = tmp_path / "pwned"
    payload = pickle.dumps(MakesDirectoryWhenUnpickled(marker))
    with pytest.raises(AuditInputError, match="holds a NoneType, not a model"):
        load_model(payload, filename="model.pkl", trust_pickle=True, sandbox=False)
    assert marker.is_dir()


def test_trusted_pickle_runs_in_the_sandbox_where_this_machine_is_out_of_reach(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(MakesDirectoryWhenUnpickled(marker))
    with pytest.raises(AuditInputError, match=r"could not be unpickled \(FileNotFoundError"):
        load_model(payload, filename="model.pkl", trust_pickle=True)
    assert not marker.exists()


def test_trusted_pickle_loads_a_model(tmp_path, frame, labels):
    fitted = LogisticRegression().fit(frame, labels)
    path = tmp_path / "lr.joblib"
    joblib.dump(fitted, path)
    model = load_model(path, trust_pickle=True)
    assert model.format == "pickle"
    assert model.classes == (0, 1)
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(frame))


def test_trust_argument_overrides_env(tmp_path, monkeypatch, frame, labels):
    monkeypatch.setenv("AUDITAPP_TRUST_PICKLE", "1")
    payload = pickle.dumps(LogisticRegression().fit(frame, labels))
    with pytest.raises(UntrustedModelError, match="convert the model to skops"):
        load_model(payload, filename="m.pkl", trust_pickle=False)


def test_truncated_trusted_pickle_is_refused(frame, labels):
    payload = pickle.dumps(LogisticRegression().fit(frame, labels))
    with pytest.raises(AuditInputError, match="m.pkl could not be unpickled"):
        load_model(payload[: len(payload) // 2], filename="m.pkl", trust_pickle=True)


def test_skops_with_class_from_outside_allow_list_is_refused(frame, labels):
    pipeline = make_pipeline(SneakyTransformer(), LogisticRegression()).fit(frame, labels)
    with pytest.raises(UntrustedModelError, match=r"not on auditapp's allow-list.*"
                                                  r"SneakyTransformer"):
        load_model(sio.dumps(pipeline), filename="sneaky.skops")


@pytest.mark.parametrize("func, type_name", [(np.load, "numpy.load"),
                                              (os.system, "system"),
                                              (eval, "builtins.eval")])
def test_skops_with_dangerous_function_is_refused(tmp_path, frame, labels, func, type_name):
    # Never fitted or called: only its reference is stored in the file.
    pipeline = make_pipeline(FunctionTransformer(func), LogisticRegression())
    path = tmp_path / "f.skops"
    path.write_bytes(sio.dumps(pipeline))
    with pytest.raises(UntrustedModelError, match=type_name):
        load_model(path)


def test_skops_with_numpy_function_on_allow_list_loads(frame, labels):
    pipeline = make_pipeline(FunctionTransformer(np.tanh), LogisticRegression())
    fitted = pipeline.fit(frame, labels)
    model = load_model(sio.dumps(fitted), filename="ok.skops")
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(frame))


def test_corrupt_skops_is_refused():
    with pytest.raises(AuditInputError, match="bad.skops is not a valid skops file"):
        load_model(b"PK\x03\x04 not a real zip", filename="bad.skops")


@pytest.mark.parametrize("name, allowed", [
    ("sklearn.tree._tree.Tree", True),
    ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", True),
    ("numpy.dtype", True),
    ("scipy.sparse._csr.csr_matrix", True),
    ("numpy.load", False),
    ("numpy.lib._npyio_impl.loadtxt", False),
    ("numpy.savez_compressed", False),
    ("sklearn.datasets.fetch_openml", False),
    ("builtins.eval", False),
    ("posix.system", False),
    ("sklearnx.Evil", False),
    ("tests.auditapp.test_model_security.SneakyTransformer", False),
])
def test_allow_list(name, allowed):
    assert is_allowed_type(name) is allowed


def test_pickle_detection():
    assert looks_like_pickle(pickle.dumps({"a": 1}))
    assert looks_like_pickle(pickle.dumps([1], protocol=2))
    assert not looks_like_pickle(b"PK\x03\x04")
    assert not looks_like_pickle(b"")
