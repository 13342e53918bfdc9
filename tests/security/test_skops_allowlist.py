"""The skops allow-list is a list: exact names, each reviewed, and nothing dangerous reachable through it.

The walk (``gadget_walk.py``, in a fresh interpreter) imports every submodule of numpy, scipy and
scikit-learn and names every attribute, as a crafted file could."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import skops_gadgets as gadgets

from auditapp.core.errors import UntrustedModelError
from auditapp.inputs.allowlist import is_allowed_type
from auditapp.inputs.allowlist_names import (
    ALLOWED,
    DENIED_ESTIMATORS,
    FUNCTIONS,
    SKLEARN_ESTIMATORS,
)
from auditapp.inputs.models import load_model

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def walk():
    done = subprocess.run([sys.executable, str(HERE / "gadget_walk.py")], capture_output=True, text=True,
                          check=True, timeout=600, cwd=HERE)
    return json.loads(done.stdout)


def test_the_walk_reaches_the_libraries_and_the_reported_gadgets(walk):
    assert walk["modules"] > 1000 and walk["reachable"] > 30_000
    for name in ("numpy.matlib.load", "numpy.matlib.savetxt", "numpy.fromregex", "scipy._lib._tmpdirs.rmtree",
                 "scipy._lib.array_api_compat.numpy.load", "numpy.lib._format_impl.read_array",
                 "sklearn.utils.discovery.import_module"):
        assert name in walk["dangerous"], name
    assert len(walk["dangerous"]) >= 40


def test_no_dangerous_callable_reachable_in_the_libraries_is_allowed(walk):
    allowed = [name for name in walk["dangerous"] if is_allowed_type(name)]
    assert allowed == []


def test_every_allowed_name_is_a_reviewed_class_or_pure_function(walk):
    kinds = walk["kinds"]
    assert set(kinds) == set(ALLOWED)
    assert not [n for n, kind in kinds.items() if kind in ("missing", "dangerous")]
    not_classes = {n for n, kind in kinds.items() if kind != "class"}
    assert not_classes <= FUNCTIONS
    assert {n for n in FUNCTIONS if n.startswith("numpy.")} == {n for n, k in kinds.items() if k == "ufunc"}
    assert set(walk["allowed_reachable"]) <= set(ALLOWED)


def test_allow_list_is_exact_not_a_prefix():
    for name in ("numpy.lo", "sklearn.tree._tree", "sklearn.tree._tree.TreeX", "numpy.matlib.log1p",
                 "sklearn.linear_model.LogisticRegression", "numpy.log1p.__call__"):
        assert not is_allowed_type(name), name
    assert is_allowed_type("sklearn.linear_model._logistic.LogisticRegression")


def test_every_scikit_learn_estimator_was_reviewed():
    from sklearn.utils import all_estimators
    from skops.io._utils import get_type_name

    offered = {get_type_name(cls) for _, cls in all_estimators()}
    assert offered == SKLEARN_ESTIMATORS | set(DENIED_ESTIMATORS)
    assert not SKLEARN_ESTIMATORS & set(DENIED_ESTIMATORS)


def test_crafted_files_naming_dangerous_callables_are_refused_where_they_are_opened(walk):
    names = sorted(walk["dangerous"])[:: max(1, len(walk["dangerous"]) // 40)]
    for dotted in names:
        module, _, attr = dotted.rpartition(".")
        data = gadgets.with_node(gadgets.call_node(module, attr, "/etc/passwd"))
        with pytest.raises(UntrustedModelError, match="not on auditapp's allow-list"):
            load_model(data, filename="evil.skops", sandbox=False)


def test_a_pipeline_caching_to_disk_is_refused():
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    frame = pd.DataFrame({"x": np.linspace(-1, 1, 20)})
    pipeline = Pipeline([("lr", LogisticRegression())]).fit(frame, np.arange(20) % 2)
    pipeline.memory = "/tmp/auditapp-cache"
    with pytest.raises(UntrustedModelError, match="memory.*write a cache to disk"):
        load_model(sio.dumps(pipeline), filename="cached.skops", sandbox=False)


@pytest.fixture(scope="module")
def real_models():
    """Fitted models of every kind auditapp supports, as users (and auditapp's own exports) save them."""
    import numpy as np
    import pandas as pd
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )
    from sklearn.svm import SVC

    from auditapp.mitigation.inprocessing import RandomizedEnsembleClassifier
    from auditapp.mitigation.post import GroupThresholdClassifier
    from auditapp.mitigation.pre import correlation_remover_pipeline

    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n),
                          "s": rng.choice(["f", "m"], n)})
    frame.loc[::13, "b"] = np.nan
    y = ((frame["a"] + (frame["c"] == "x")) > 0.3).astype(int).to_numpy()
    numeric = frame[["a"]].assign(b=frame["b"].fillna(0))
    encode = ColumnTransformer([("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                                  ("scale", StandardScaler())]), ["a", "b"]),
                                ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])])
    ordinal = ColumnTransformer([("num", SimpleImputer(), ["a", "b"]),
                                 ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["c"])])
    lr = LogisticRegression().fit(numeric, y)
    models = {
        "logistic regression": (lr, numeric),
        "random forest": (RandomForestClassifier(5, random_state=0).fit(numeric, y), numeric),
        "gradient boosting": (GradientBoostingClassifier(n_estimators=5).fit(numeric, y), numeric),
        "hist gradient boosting, categorical": (HistGradientBoostingClassifier(max_iter=5).fit(
            frame[["a", "b", "c"]].astype({"c": "category"}), y), frame[["a", "b", "c"]].astype({"c": "category"})),
        "SVC, calibrated": (CalibratedClassifierCV(SVC(), ensemble=False).fit(numeric, y), numeric),
        "k nearest neighbours": (KNeighborsClassifier().fit(numeric, y), numeric),
        "naive Bayes": (GaussianNB().fit(numeric, y), numeric),
        "MLP": (MLPClassifier(max_iter=2000, random_state=0).fit(numeric, y), numeric),
        "SGD": (SGDClassifier(loss="log_loss", random_state=0).fit(numeric, y), numeric),
        "pipeline, one-hot + LR": (Pipeline([("encode", encode), ("lr", LogisticRegression())]).fit(frame, y), frame),
        "pipeline, ordinal + HGB": (make_pipeline(ordinal, HistGradientBoostingClassifier(max_iter=5)).fit(frame, y),
                                    frame),
        "calibrated": (CalibratedClassifierCV(RandomForestClassifier(5, random_state=0), cv=3).fit(numeric, y), numeric),
        "FunctionTransformer(log1p)": (make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(
            numeric.abs(), y), numeric.abs()),
        "ThresholdOptimizer export": (GroupThresholdClassifier(
            estimator=lr, rules={"f": (0.5, 0.4, 0.5, 0.6, 0.0, 0.0), "m": (1.0, 0.5, 0.0, 0.5, 0.0, 0.0)},
            feature_columns=("a", "b"), sensitive_columns=("s",)).fit(), numeric.assign(s=frame["s"])),
        "ExponentiatedGradient export": (RandomizedEnsembleClassifier(
            predictors=[lr, LogisticRegression(C=0.1).fit(numeric, y)], weights=[0.3, 0.7]).fit(), numeric),
        "CorrelationRemover export": (correlation_remover_pipeline(
            frame, ["a", "c"], ["s"], LogisticRegression()).fit(frame.assign(a=frame["a"]), y), frame),
    }
    from datasets import hiring

    data = hiring.generate_hiring(400, seed=0)
    models["hiring demo"] = (hiring.train_hiring_model(data, seed=0), data)
    return models


REAL_MODELS = ("logistic regression", "random forest", "gradient boosting", "hist gradient boosting, categorical",
               "SVC, calibrated", "k nearest neighbours", "naive Bayes", "MLP", "SGD", "pipeline, one-hot + LR",
               "pipeline, ordinal + HGB", "calibrated", "FunctionTransformer(log1p)", "ThresholdOptimizer export",
               "ExponentiatedGradient export", "CorrelationRemover export", "hiring demo")


def test_every_real_model_kind_is_tried(real_models):
    assert set(real_models) == set(REAL_MODELS)


@pytest.mark.parametrize("kind", REAL_MODELS)
def test_real_models_load_through_the_exact_allow_list(real_models, kind):
    import numpy as np
    import skops.io as sio

    estimator, rows = real_models[kind]
    model = load_model(sio.dumps(estimator), filename="model.skops", sandbox=False)
    expected = estimator.predict_proba(rows)
    np.testing.assert_allclose(model.predict_proba(rows), expected, rtol=0, atol=1e-12)


def test_skops_trusts_exactly_the_names_the_allow_list_approves():
    """skops is imported without scikit-learn's estimator discovery (a fifth of a model process's start-up)
    and, alone in its process, without scanning scipy.special's ufuncs (another ~0.1-0.2 s):
    its own default trust list is then empty, so a load trusts exactly the approved names. In a fresh
    interpreter, as a model process imports it."""
    import subprocess
    import sys

    code = """
from auditapp.inputs.allowlist import approved_skops_types, skops_io
sio = skops_io()
import sklearn.utils, skops.io._trusted_types as trusted
from sklearn.linear_model import LogisticRegression
assert trusted.SKLEARN_ESTIMATOR_TYPE_NAMES == []
assert len(sklearn.utils.all_estimators()) > 100  # put back for everyone else
# alone in its process, it imported skops with an empty scipy.special: no scipy ufunc is trusted by default
import numpy as np, scipy, scipy.special
assert trusted.SCIPY_UFUNC_TYPE_NAMES == [] and scipy.special.expit(0.0) == 0.5  # the real module is back
assert len(trusted.NUMPY_UFUNC_TYPE_NAMES) > 50
data = sio.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
approved = approved_skops_types(data, name="lr.skops")
assert sio.loads(data, trusted=approved).predict([[1.0]]).tolist() == [1]
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
logged = sio.dumps(make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit([[0.0], [3.0]], [0, 1]))
assert sio.loads(logged, trusted=approved_skops_types(logged, name="log.skops")).predict([[3.0]]).tolist() == [1]
try:
    sio.loads(data, trusted=[n for n in approved if not n.endswith("LogisticRegression")])
except Exception as exc:
    print(type(exc).__name__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "UntrustedTypesFoundException"
    # with another thread running (which could look at scipy.special meanwhile), scipy.special is left alone
    threaded = """
import threading, time
threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
from auditapp.inputs.allowlist import skops_io
skops_io()
import skops.io._trusted_types as trusted
print(len(trusted.SCIPY_UFUNC_TYPE_NAMES) > 50)
"""
    done = subprocess.run([sys.executable, "-c", threaded], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
