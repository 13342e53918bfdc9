"""A sandboxed model's predictions are kept between processes of the app, and the mitigation baseline needs
no model process: so the Mitigation page's first result does not wait for a sandbox to start.

- ``SandboxedModel.outputs`` with a memo: the second ask for the same rows (in a "new process": the pool
  reset) starts no model process and gives the same arrays; other rows or another model miss.
- The app's memo is the artifact store, per browser session: a second load of the model in the same
  session finds the audit's predictions; another session does not.
- The baseline of a skops upload is evaluated without a model process, and its exported model is the
  uploaded file itself.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from auditapp.core.spec import AuditSpec, prepare
from auditapp.inputs.models import load_model
from auditapp.inputs.sandbox import current_mode, default_pool, reset_default_pool

pytestmark = pytest.mark.skipif(not current_mode().strong, reason="needs bubblewrap (see README)")


class DictMemo:
    def __init__(self):
        self.values, self.gets, self.puts = {}, 0, 0

    def get(self, key):
        self.gets += 1
        return self.values.get(key)

    def put(self, key, value):
        self.puts += 1
        self.values[key] = value


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(5)
    n = 400
    sex = rng.choice(["f", "m"], n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x1 - 0.5 * (sex == "f"))))).astype(int)
    return pd.DataFrame({"x1": x1.round(4), "x2": x2.round(4), "sex": sex, "hired": y})


@pytest.fixture(scope="module")
def model_bytes(frame):
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[["x1", "x2"]], frame["hired"])
    return sio.dumps(model)


@pytest.fixture(autouse=True)
def fresh_pool():
    reset_default_pool()
    yield
    reset_default_pool()


def test_outputs_for_the_same_rows_come_from_the_memo_without_a_model_process(frame, model_bytes):
    memo = DictMemo()
    model = load_model(model_bytes, filename="m.skops").with_memo(memo)
    labels, scores = model.outputs(frame, 1)
    assert memo.puts == 1 and default_pool().processes()
    description = model.runner.description
    reset_default_pool()  # as in another process of the app: no model process of its own yet

    again = load_model(model_bytes, filename="m.skops", description=description).with_memo(memo)
    labels2, scores2 = again.outputs(frame, 1)
    assert default_pool().processes() == []  # answered from the memo
    np.testing.assert_array_equal(labels, labels2)
    np.testing.assert_array_equal(scores, scores2)

    changed = frame.assign(x1=frame["x1"] + 1)  # other rows: asked of the model again
    other = again.outputs(changed, 1)[1]
    assert default_pool().processes() and not np.array_equal(other, scores)


def test_the_memo_key_names_the_model_file_and_the_rows(frame, model_bytes):
    memo = DictMemo()
    model = load_model(model_bytes, filename="m.skops").with_memo(memo)
    model.outputs(frame, 1)
    model.outputs(frame.iloc[:100], 1)
    (first, second) = memo.values
    assert first[1] == second[1] == model.sha256 and first[4] != second[4]


def test_a_pickled_model_leaves_its_memo_behind(frame, model_bytes):
    model = load_model(model_bytes, filename="m.skops").with_memo(DictMemo())
    copy = pickle.loads(pickle.dumps(model))
    assert copy.runner.memo is None and model.runner.memo is not None
    assert copy.feature_names == model.feature_names


def test_a_memo_value_of_the_wrong_shape_is_not_used(frame, model_bytes):
    memo = DictMemo()
    model = load_model(model_bytes, filename="m.skops").with_memo(memo)
    truth = model.outputs(frame, 1)[1]
    for key in memo.values:
        memo.values[key] = (None, np.zeros(3))  # a stale or foreign value: ignored, computed again
    np.testing.assert_array_equal(model.outputs(frame, 1)[1], truth)


def test_the_apps_memo_is_the_store_per_session(frame, model_bytes, tmp_path):
    from auditapp.service import workspace
    from auditapp.service.store import ArtifactStore

    store = ArtifactStore(tmp_path)
    token = store.new_session()
    model_id = store.put(token, model_bytes, kind="model", name="m.skops").id
    model = workspace.load_model(store, token, model_id)
    spec = AuditSpec(target="hired", sensitive=("sex",))
    audit_data = prepare(frame, spec, model)
    reset_default_pool()

    again = workspace.load_model(store, token, model_id)
    mitigation_data = prepare(frame, spec, again)
    assert default_pool().processes() == []
    np.testing.assert_array_equal(audit_data.y_score, mitigation_data.y_score)

    other = store.new_session()
    theirs = workspace.load_model(store, other, store.put(other, model_bytes, kind="model", name="m.skops").id)
    prepare(frame, spec, theirs)
    assert default_pool().processes()  # another session never reads this session's predictions


def test_the_baseline_needs_no_model_process_and_exports_the_uploaded_file(frame, model_bytes, tmp_path):
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.mitigation.export import export_candidate

    memo = DictMemo()
    model = load_model(model_bytes, filename="m.skops").with_memo(memo)
    spec = AuditSpec(target="hired", sensitive=("sex",), n_boot=20)
    prepare(frame, spec, model)  # the audit
    description = model.runner.description
    reset_default_pool()
    model = load_model(model_bytes, filename="m.skops", description=description).with_memo(memo)

    comparison = compare_mitigations(frame, spec, model, candidates=["baseline"])
    assert default_pool().processes() == []
    baseline = comparison.candidate("baseline")
    assert baseline.error is None
    files = export_candidate(comparison, "baseline", tmp_path)
    assert files.model_path.read_bytes() == model_bytes
