"""The comparison planned as one job: side by side it gives the same results as one after another, the
uploaded model as it is finishes first, and a model file's candidates use two model processes at once."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from auditapp.core.spec import AuditSpec
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.schedule import planned_order
from tests.builders import applicants

SPEC = AuditSpec(target="hired", sensitive=("sex",), reference={"sex": "m"}, n_boot=50, seed=1)
FEATURES = ["income", "proxy", "region"]


@pytest.fixture(scope="module")
def frame():
    return applicants(800, seed=5, score=True)


def test_the_plan_starts_the_baseline_then_the_long_reductions_then_the_longest_short_one():
    names = ["threshold_optimizer", "reweighing", "grid_search", "baseline", "correlation_remover",
             "baseline_refit", "exponentiated_gradient"]
    # CorrelationRemover (~0.25 s on Adult) then ThresholdOptimizer (~0.12 s) before the shorter ones, so the
    # slots end together; equal costs keep the order asked for.
    assert planned_order(names) == ["baseline", "exponentiated_gradient", "grid_search", "correlation_remover",
                                    "threshold_optimizer", "reweighing", "baseline_refit"]
    assert planned_order(["grid_search", "reweighing"]) == ["grid_search", "reweighing"]


class _Events:
    def __init__(self):
        self.events = []

    def __call__(self, name, status, result):
        self.events.append((name, status))

    def most_running(self) -> int:
        running, most = set(), 0
        for name, status in self.events:
            (running.add if status == "running" else running.discard)(name)
            most = max(most, len(running))
        return most

    def first_done(self) -> str:
        return next(name for name, status in self.events if status == "done")


def _same(one, two):
    assert [c.name for c in one.candidates] == [c.name for c in two.candidates]
    for mine, theirs in zip(one.candidates, two.candidates, strict=True):
        assert mine.error is None and theirs.error is None, (mine.error, theirs.error)
        np.testing.assert_array_equal(mine.y_pred, theirs.y_pred)
        assert mine.accuracy == theirs.accuracy and mine.disparity == theirs.disparity


def test_side_by_side_in_worker_processes_is_the_same_as_one_after_another(frame):
    options = {"constraint": "demographic_parity", "grid_size": 8, "features": FEATURES,
               "candidates": ["baseline", "reweighing", "exponentiated_gradient", "grid_search",
                              "threshold_optimizer"]}
    spec = AuditSpec(target="hired", sensitive=("sex",), score="score", n_boot=50, seed=1)
    events = _Events()
    parallel = compare_mitigations(frame, spec, n_jobs=2, on_progress=events, **options)
    _same(parallel, compare_mitigations(frame, spec, n_jobs=1, **options))
    # The baseline is evaluated here first (while the fork server imports the learners), then two workers.
    assert events.events[:2] == [("baseline", "running"), ("baseline", "done")]
    assert events.most_running() == 2


@pytest.mark.parametrize("two_ready", [False, True], ids=["as-started", "both-processes-ready"])
def test_a_model_files_candidates_use_two_model_processes_and_match_the_estimator_here(frame, monkeypatch,
                                                                                       two_ready):
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from auditapp.inputs.models import from_estimator, load_model
    from auditapp.inputs.sandbox import SandboxPool, current_mode, default_pool
    from auditapp.inputs.sandbox_process import ModelProcess

    if not current_mode().strong:
        pytest.skip("needs bubblewrap (see README)")
    encode = make_column_transformer((StandardScaler(), ["income", "proxy"]),
                                     (OneHotEncoder(handle_unknown="ignore"), ["region"]))
    pipeline = make_pipeline(encode, LogisticRegression()).fit(frame[FEATURES], frame["hired"])
    sandboxed = load_model(sio.dumps(pipeline), filename="pipeline.skops", scope="schedule-test")
    before = set(default_pool().processes())
    training, trained, most, guard, call = set(), set(), [0], threading.Lock(), SandboxPool.call
    requests, keys, request = [], set(), ModelProcess.request

    def counted(pool, ref, task, args=None, **kwargs):  # candidates in training at once, by name
        name = (args or {}).get("name") if task == "fit_candidate" else None
        with guard:
            if task == "fit_candidate":
                keys.add(args["context_key"])
            training.add(name)
            trained.add(name)
            most[0] = max(most[0], len(training - {None}))
        try:
            return call(pool, ref, task, args, **kwargs)
        finally:
            with guard:
                training.discard(name)

    def sent(process, task, args, **kwargs):  # what reaches each model process
        if task == "fit_candidate":
            with guard:
                requests.append((process.pid, "context" in args))
        return request(process, task, args, **kwargs)

    monkeypatch.setattr(SandboxPool, "call", counted)
    monkeypatch.setattr(ModelProcess, "request", sent)
    options = {"constraint": "demographic_parity", "grid_size": 5}
    events = _Events()
    if two_ready:  # both processes up before the comparison starts, so that both slots train at once
        sandboxed.learner.warm_up(2)
        pool, deadline, key = default_pool(), time.monotonic() + 60, sandboxed.learner.ref.key
        while time.monotonic() < deadline and \
                sum(c.key == key for c in pool._children) < 2:  # noqa: SLF001 - the test's wait
            time.sleep(0.05)
    one = compare_mitigations(frame, SPEC, sandboxed, n_jobs=2, on_progress=events, **options)
    _same(one, compare_mitigations(frame, SPEC, from_estimator(pipeline), n_jobs=1, **options))
    # The two reductions start first, one per slot, then the baseline beside them (a skops file's has
    # nothing to train); two candidates train at a time, never more; a slot takes the next one while a
    # finished one is evaluated here.
    assert [name for name, status in events.events[:3]] == ["exponentiated_gradient", "grid_search", "baseline"]
    assert most[0] == 2
    assert "baseline" not in trained and "grid_search" in trained and events.most_running() >= 3
    started = set(default_pool().processes()) - before
    assert len(started) == 1  # the second model process; the first was started by load_model
    # The split's rows cross to each model process that trains a candidate once, with its first candidate
    # (no round trip to learn that a process lacks them); later candidates name the split by its key. (On
    # these few rows the candidates may all be done before the second process is up, unless it is waited for.)
    assert len(keys) == 1 and len(requests) == len(trained - {None})
    firsts = {pid: with_rows for pid, with_rows in reversed(requests)}
    assert all(firsts.values()) and sum(with_rows for _, with_rows in requests) == len(firsts)
    assert len(firsts) == (2 if two_ready else len(firsts))


def test_the_command_reports_a_bad_dataset_before_a_bad_model_file(tmp_path, capsys):
    from auditapp.cli.main import main

    (tmp_path / "model.skops").write_bytes(b"not a model")
    code = main(["mitigate", "--data", str(tmp_path / "missing.csv"), "--model", str(tmp_path / "model.skops"),
                 "--target", "hired", "--sensitive", "sex", "--jobs", "2", "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code != 0 and "missing.csv" in err and "model.skops" not in err and "Traceback" not in err
    assert not (tmp_path / "out.json").exists()


def test_the_command_with_a_model_file_leaves_scikit_learn_to_the_model_processes(frame, tmp_path):
    """Every candidate of a model file trains in its sandbox, so auditapp's own process never pays for
    importing scikit-learn, fairlearn or skops (seconds on the comparison's critical path, issue 19)."""
    import json
    import subprocess
    import sys

    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from auditapp.inputs.sandbox import current_mode

    if not current_mode().strong:
        pytest.skip("needs bubblewrap (see README)")
    encode = make_column_transformer((StandardScaler(), ["income", "proxy"]),
                                     (OneHotEncoder(handle_unknown="ignore"), ["region"]))
    pipeline = make_pipeline(encode, LogisticRegression()).fit(frame[FEATURES], frame["hired"])
    (tmp_path / "model.skops").write_bytes(sio.dumps(pipeline))
    frame.drop(columns=["score"]).to_csv(tmp_path / "data.csv", index=False)
    # Counted in the command's process: how often the dataset is read and model processes are started.
    code = ("import sys\nfrom auditapp.cli.main import main\n"
            "import auditapp.inputs.intake as intake, auditapp.inputs.sandbox_process as sp\n"
            "reads, spawns = [], []\nread, spawn = intake.read_table, sp.ModelProcess.spawn.__func__\n"
            "pair = sp.ModelProcess.spawn_pair.__func__\n"
            "intake.read_table = lambda *a, **k: reads.append(1) or read(*a, **k)\n"
            "sp.ModelProcess.spawn = classmethod(lambda cls, *a, **k: spawns.append(1) or spawn(cls, *a, **k))\n"
            "sp.ModelProcess.spawn_pair = classmethod(lambda cls, *a, **k: spawns.extend([1, 1]) or pair(cls, *a, **k))\n"
            f"code = main(['mitigate', '--data', {str(tmp_path / 'data.csv')!r}, '--model', "
            f"{str(tmp_path / 'model.skops')!r}, '--target', 'hired', '--sensitive', 'sex', '--grid-size', '5', "
            f"'--jobs', '2', '--json', {str(tmp_path / 'out.json')!r}])\n"
            "print(len(reads), len(spawns))\n"
            "print(sorted(m for m in ('sklearn', 'fairlearn', 'skops', 'scipy.stats') if m in sys.modules))\n"
            "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    # The dataset read once (the task is told from it and the comparison goes on with it; it was read twice),
    # and two model processes for --jobs 2.
    assert done.stdout.strip().splitlines()[-2] == "1 2"
    record = json.loads((tmp_path / "out.json").read_text())
    names = [c["name"] for c in record["candidates"]]
    assert {"baseline", "exponentiated_gradient", "grid_search", "threshold_optimizer"} <= set(names)
    assert all(c.get("error") is None for c in record["candidates"]), record["candidates"]


def test_a_freed_slot_gets_the_next_candidate_before_the_previous_ones_evaluation():
    import sys
    from types import SimpleNamespace

    from auditapp.mitigation.schedule import SWITCH_SECONDS, run_threaded

    started, seen_after_trained, intervals = [], {}, []
    release = threading.Event()

    def run(ctx, name, trained):
        started.append(name)
        intervals.append(sys.getswitchinterval())
        if name == "grid_search":
            release.wait(5)  # holds its slot until exponentiated_gradient's evaluation has begun
        trained()
        seen_after_trained[name] = list(started)  # what had started when trained() returned
        if name == "exponentiated_gradient":
            release.set()
        return SimpleNamespace(error=None)

    before = sys.getswitchinterval()
    results, cancelled = run_threaded(None, ["exponentiated_gradient", "grid_search", "reweighing"], 2,
                                      _Events(), lambda: False, run, poll_seconds=5.0)
    assert set(results) == {"exponentiated_gradient", "grid_search", "reweighing"} and cancelled == ()
    # trained() itself handed the slot on: reweighing had started before exponentiated_gradient went on
    # to its evaluation (the scheduling loop was asleep for up to 5 s)
    assert "reweighing" in seen_after_trained["exponentiated_gradient"]
    assert max(intervals) <= SWITCH_SECONDS and sys.getswitchinterval() == before
