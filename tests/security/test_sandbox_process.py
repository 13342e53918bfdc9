"""The model process as an attacker meets it: code running inside it (a trusted pickle) probes what it
can reach; models that hang, spin, allocate or answer garbage are stopped with a clear message."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sandbox_probes import model_reporting, pipeline_calling

from auditapp.core.errors import AuditInputError, LimitExceededError
from auditapp.inputs import sandbox
from auditapp.inputs.models import load_model
from auditapp.inputs.sandbox_platform import CHILD_ENV

pytestmark = pytest.mark.skipif(not sandbox.current_mode().strong, reason="needs bubblewrap (see README)")


@pytest.fixture
def limits(use_limits):
    """Set sandbox limits for this test (a fresh pool takes them); the pool is ended afterwards."""

    def set_limits(**values):
        use_limits(environ={f"AUDITAPP_SANDBOX_{name.upper()}": str(value) for name, value in values.items()})

    return set_limits


def _descendants(pid: int) -> set[int]:
    found, stack = set(), [pid]
    while stack:
        current = stack.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_code_inside_the_model_process_reaches_no_network_no_files_and_no_secrets(tmp_path, monkeypatch):
    secret = "s3cret-" + os.urandom(8).hex()
    monkeypatch.setenv("AUDITAPP_BASIC_AUTH", f"admin:{secret}")
    monkeypatch.setenv("AUDITAPP_SECRET", secret)
    host_file = tmp_path / "confidential.csv"
    host_file.write_text(f"password,{secret}\n")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    probe = f"""
import os, socket
report = []
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    report.append("network reached")
except OSError as exc:
    report.append("network blocked")
for path in ("/etc/passwd", "/etc/hostname", {str(host_file)!r}, "/root/.bashrc"):
    try:
        open(path).read()
        report.append("read " + path)
    except OSError:
        report.append("cannot read " + path)
for path in ({str(tmp_path / "written")!r}, "/tmp/written", "/written", os.path.dirname(os.__file__) + "/w"):
    try:
        with open(path, "w") as handle:
            handle.write("x")
        report.append("wrote " + path)
    except OSError:
        report.append("cannot write " + path)
seen = b"".join(open(p, "rb").read() for p in ("/proc/self/environ", "/proc/1/environ"))
report.append("secret " + ("leaked" if {secret!r}.encode() in seen else "absent"))
report.append("env " + " ".join(sorted(os.environ)))
report.append("uid %d" % os.getuid())
report.append("processes " + " ".join(sorted(p for p in os.listdir("/proc") if p.isdigit())))
"""
    try:
        model = load_model(model_reporting(probe), filename="probe.pkl", trust_pickle=True)
    finally:
        listener.close()
    report = set(model.feature_names)
    assert "network blocked" in report
    assert {"cannot read /etc/passwd", "cannot read /etc/hostname", f"cannot read {host_file}",
            "cannot read /root/.bashrc"} <= report
    assert not [r for r in report if r.startswith("wrote ")]
    assert "secret absent" in report
    env = next(r for r in report if r.startswith("env ")).split()[1:]
    assert not [name for name in env if name.startswith("AUDITAPP")]
    # Only the fixed environment, plus what the process's own libraries set (scikit-learn's OpenMP flags).
    assert set(env) - set(CHILD_ENV) <= {"KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK", "PWD", "LC_CTYPE"}
    assert "uid 65534" in report
    assert len(next(r for r in report if r.startswith("processes ")).split()) <= 3  # bwrap's init and itself
    assert not (tmp_path / "written").exists()


def test_a_model_process_yields_the_cpu_to_the_apps_own_processes():
    from auditapp.inputs.sandbox_worker import NICENESS

    model = load_model(model_reporting("import os\nreport = ['nice %d' % os.nice(0)]"), filename="nice.pkl",
                       trust_pickle=True)
    assert set(model.feature_names) == {f"nice {os.nice(0) + NICENESS}"}


def test_a_model_that_hangs_is_killed_at_the_time_limit_with_every_process_it_started(limits):
    limits(timeout=4)
    data, frame = pipeline_calling("import time\ndef f(X):\n    time.sleep(300)\n    return X\n")
    model = load_model(data, filename="slow.pkl", trust_pickle=True)
    pids: set[int] = set()

    def watch():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pids:
            for pid in sandbox.default_pool().processes():
                pids.update({pid, *_descendants(pid)})
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    with pytest.raises(LimitExceededError, match=r"slow\.pkl took longer than the sandbox allows while "
                                                 r"predicting and was stopped \(time limit of one call: "
                                                 r"AUDITAPP_SANDBOX_TIMEOUT, 4 s\)"):
        model.predict_proba(frame)
    elapsed = time.monotonic() - started
    watcher.join()
    assert 3.5 < elapsed < 15
    assert len(pids) >= 2  # bubblewrap and the Python worker inside it
    deadline = time.monotonic() + 5
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]
    assert sandbox.default_pool().processes() == []


def test_a_model_that_spins_is_stopped_at_its_cpu_time_limit(limits):
    limits(cpu_seconds=5, timeout=120)
    data, frame = pipeline_calling("def f(X):\n    while True:\n        pass\n")
    model = load_model(data, filename="spin.pkl", trust_pickle=True)
    with pytest.raises(LimitExceededError, match=r"spin\.pkl used up the sandbox's CPU-time limit \(5 s"):
        model.predict(frame)


def test_a_model_that_answers_garbage_is_refused_and_stopped(limits):
    limits(timeout=30)
    source = """import os, time
def f(X):
    frame = b"AUSB" + (1).to_bytes(4, "little") + (2 ** 40).to_bytes(8, "little")
    for fd in range(3, 20):
        try:
            os.write(fd, frame)
        except OSError:
            pass
    time.sleep(60)
"""
    data, frame = pipeline_calling(source)
    model = load_model(data, filename="liar.pkl", trust_pickle=True)
    started = time.monotonic()
    with pytest.raises(AuditInputError, match=r"liar\.pkl sent a malformed answer while predicting"):
        model.predict(frame)
    assert time.monotonic() - started < 20
    assert sandbox.default_pool().processes() == []


def onnx_allocating(gigabytes_per_row: int) -> bytes:
    """A tiny ONNX classifier whose ConstantOfShape needs ``gigabytes_per_row`` GB per input row at run
    time (the shape depends on the input, so nothing can be folded when the model is loaded)."""
    import onnx
    from onnx import TensorProto, helper

    per_row = gigabytes_per_row * 2**30 // 4
    constant = helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Constant", [], ["per_row"],
                         value=helper.make_tensor("per_row", TensorProto.INT64, [2], [per_row, 1])),
        helper.make_node("Mul", ["shape", "per_row"], ["huge"]),
        helper.make_node("ConstantOfShape", ["huge"], ["block"], value=constant),
        helper.make_node("ReduceSum", ["block"], ["total"], keepdims=0),
        helper.make_node("Sub", ["x", "x"], ["zero"]),
        helper.make_node("Mul", ["zero", "total"], ["nothing"]),
        helper.make_node("Sigmoid", ["nothing"], ["p"]),
        helper.make_node("Neg", ["p"], ["minus_p"]),
        helper.make_node("Constant", [], ["one"], value=helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])),
        helper.make_node("Add", ["one", "minus_p"], ["q"]),
        helper.make_node("Concat", ["q", "p"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(nodes, "allocates", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    entry = proto.metadata_props.add()
    entry.key, entry.value = "classes", "0,1"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def test_onnx_model_allocating_at_run_time_is_stopped_at_the_memory_limit(limits, tmp_path, capsys):
    import resource

    from auditapp.cli.main import EXIT_BAD_INPUT, main

    limits(memory_mb=1536)
    data = onnx_allocating(4)
    assert len(data) < 1000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = load_model(data, filename="bomb.onnx")
    rows = pd.DataFrame({"x": [0.5, 1.5]})  # 8 GB at run time
    with pytest.raises(LimitExceededError, match=r"bomb\.onnx needed more memory than the sandbox allows while "
                                                 r"predicting \(limit 1,536 MB"):
        model.predict_proba(rows)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KB: this process did not grow
    small = load_model(onnx_allocating(0), filename="fine.onnx")
    np.testing.assert_allclose(small.predict_proba(rows), [[0.5, 0.5], [0.5, 0.5]])
    (tmp_path / "bomb.onnx").write_bytes(data)
    pd.DataFrame({"x": np.linspace(0, 1, 40), "y": np.arange(40) % 2, "g": ["a", "b"] * 20}).to_csv(
        tmp_path / "rows.csv", index=False)
    status = main(["audit", "--data", str(tmp_path / "rows.csv"), "--target", "y", "--sensitive", "g",
                   "--model", str(tmp_path / "bomb.onnx"), "--model-favorable", "1", "--bootstrap", "0"])
    assert status == EXIT_BAD_INPUT
    assert "bomb.onnx needed more memory than the sandbox allows" in capsys.readouterr().err


def test_a_model_process_serves_many_calls_and_is_replaced_after_it_dies(limits):
    limits()
    data, frame = pipeline_calling("import numpy\ndef f(X):\n    return numpy.tanh(X)\n")
    model = load_model(data, filename="fine.pkl", trust_pickle=True)
    first = sandbox.default_pool().processes()
    expected = model.predict_proba(frame)
    for _ in range(5):
        np.testing.assert_array_equal(model.predict_proba(frame), expected)
    assert sandbox.default_pool().processes() == first
    for pid in first:
        os.killpg(pid, 9)  # ended while idle (as by the OOM killer): the next call starts a new one
    deadline = time.monotonic() + 10
    while any(map(_alive, first)) and time.monotonic() < deadline:
        time.sleep(0.05)
    np.testing.assert_array_equal(model.predict_proba(frame), expected)
    assert sandbox.default_pool().processes() != first


def test_an_upload_is_described_once_and_its_process_starts_only_for_predictions(upload, store, token, limits):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from auditapp.service import workspace

    limits()
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 30)})
    fitted = LogisticRegression().fit(frame, np.arange(30) % 2)
    status, body = upload("model", "lr.skops", sio.dumps(fitted))
    assert status == 200 and body["features"] == ["x"] and "description" not in body
    sandbox.reset_default_pool()
    model = workspace.load_model(store, token, body["id"])
    assert model.sandboxed and model.feature_names == ("x",) and model.classes == (0, 1) and model.refittable
    assert sandbox.default_pool().processes() == []  # columns, classes and refitting known from the upload
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(frame), rtol=0, atol=1e-12)
    assert len(sandbox.default_pool().processes()) == 1


def test_the_pool_is_bounded_and_sessions_never_share_a_process(limits):
    limits(processes=2)
    data, frame = pipeline_calling("import numpy\ndef f(X):\n    return numpy.tanh(X)\n")
    first = load_model(data, filename="m.pkl", trust_pickle=True, scope="session-a")
    first.predict(frame)
    second = load_model(data, filename="m.pkl", trust_pickle=True, scope="session-b")
    second.predict(frame)
    assert len(sandbox.default_pool().processes()) == 2  # same file, two sessions: two processes
    third = load_model(data, filename="m.pkl", trust_pickle=True, scope="session-c")
    third.predict(frame)
    assert len(sandbox.default_pool().processes()) == 2  # the least recently used one made room


def _wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def _fitted_lr():
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": np.linspace(-1, 1, 30)})
    fitted = LogisticRegression().fit(frame, np.arange(30) % 2)
    return fitted, frame, sio.dumps(fitted)


def test_processes_started_ahead_each_serve_the_first_model_given_and_only_it(limits):
    """The command line starts its model processes before it knows much (issue 19): the next model started
    takes them, each serves that model only, and a later model (another session) gets a new process."""
    limits(processes=4)
    pool = sandbox.default_pool()
    pool.prestart(2, preload=True)
    _wait_for(lambda: len(pool.processes()) == 2)
    ahead = set(pool.processes())
    fitted, frame, data = _fitted_lr()
    model = load_model(data, filename="lr.skops", scope="session-a", processes=2)
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(frame), rtol=0, atol=1e-12)
    _wait_for(lambda: len(pool.processes()) == 2 and not pool._spares)
    assert set(pool.processes()) == ahead  # both taken by this model; none started besides
    other = load_model(data, filename="lr.skops", scope="session-b")
    np.testing.assert_allclose(other.predict_proba(frame), fitted.predict_proba(frame), rtol=0, atol=1e-12)
    assert len(set(pool.processes()) - ahead) == 1  # another session never gets one of these


def test_processes_started_before_the_probe_are_ended_when_the_probe_picks_another_mode(limits, monkeypatch):
    """Processes started ahead use the mode the probe tries first; if the probe settles on another, they
    are ended before any model reaches them and processes in the probed mode take their place."""
    from auditapp.inputs.sandbox_platform import SandboxMode
    from auditapp.inputs.sandbox_process import ModelProcess

    limits(processes=4)
    weak_guess = SandboxMode(False, (), "weak: a guess the probe will not confirm")
    monkeypatch.setattr(sandbox, "first_choice", lambda bwrap="bwrap": weak_guess)
    sandbox.sandbox_mode.cache_clear()  # not probed yet in this process
    spawned = []
    spawn = ModelProcess.spawn.__func__

    def recording(cls, ref, mode, limits, **kwargs):
        process = spawn(cls, ref, mode, limits, **kwargs)
        spawned.append((mode, process.pid))
        return process

    monkeypatch.setattr(ModelProcess, "spawn", classmethod(recording))
    pool = sandbox.default_pool()
    pool.prestart(1, preload=False)
    _wait_for(lambda: len(spawned) == 2 and len(pool.processes()) == 1)
    (guess_mode, guessed), (probed_mode, kept) = spawned
    assert guess_mode == weak_guess and probed_mode.strong and pool.processes() == [kept]
    _wait_for(lambda: not _alive(guessed))
    fitted, frame, data = _fitted_lr()
    model = load_model(data, filename="lr.skops")
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(frame), rtol=0, atol=1e-12)
    assert pool.processes() == [kept]


def test_a_command_ends_the_processes_it_started_ahead_and_did_not_use(tmp_path, capsys):
    from auditapp.cli.main import main

    _, frame, data = _fitted_lr()
    (tmp_path / "model.skops").write_bytes(data)
    code = main(["mitigate", "--data", str(tmp_path / "missing.csv"), "--model", str(tmp_path / "model.skops"),
                 "--target", "y", "--sensitive", "g", "--jobs", "2", "--json", str(tmp_path / "out.json")])
    assert code != 0 and "missing.csv" in capsys.readouterr().err
    assert sandbox.default_pool().processes() == []


def test_starting_model_processes_ahead_imports_neither_numpy_nor_pandas_here():
    """The command line starts its model processes first thing (issue 19); the spawn must not wait for this
    process to import NumPy and pandas (the codec), or the processes start ~0.2 s later."""
    import subprocess
    import sys

    code = ("import sys, time\nfrom auditapp.inputs import sandbox\npool = sandbox.default_pool()\n"
            "pool.prestart(1, preload=False)\ndeadline = time.monotonic() + 60\n"
            "while not pool.processes() and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
            "print(len(pool.processes()), sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))\n"
            "pool.close()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1 []"


def _pair(**values):
    """Two model processes of one sandbox, as the command line starts them ahead (issue 19)."""
    from auditapp.inputs.sandbox_process import ModelProcess

    limits = sandbox.SandboxLimits(**values)
    return ModelProcess.spawn_pair(sandbox.current_mode(limits), limits)


def _ref(data: bytes, name: str, scope: str = "pair-test") -> sandbox.ModelRef:
    import hashlib

    fmt = "pickle" if name.endswith(".pkl") else "skops"
    return sandbox.ModelRef(sha256=hashlib.sha256(data).hexdigest(), name=name, format=fmt,
                            trust_pickle=fmt == "pickle", data=data, scope=scope)


def test_the_forked_second_process_of_a_pair_is_as_confined_and_ends_alone():
    """The command line starts its two model processes as one sandbox whose first process forks the second
    after its imports: code in the second meets the same walls, and each process can be ended alone."""
    first, second = _pair()
    try:
        probe = ("import os, socket\nreport = ['uid %d' % os.getuid()]\n"
                 "try:\n    open('/etc/passwd').read()\n    report.append('read passwd')\n"
                 "except OSError:\n    report.append('no passwd')\n"
                 "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2).close()\n"
                 "    report.append('network')\nexcept OSError:\n    report.append('no network')\n"
                 "report.append('env ' + ' '.join(sorted(os.environ)))\n"
                 "report.append('parent %d' % os.getppid())\n")
        data = model_reporting(probe)
        ref = _ref(data, "probe.pkl")
        second.assign(ref)
        second.load(data, deadline=time.monotonic() + 120)
        report = set(second.info["feature_names"])
        assert {"uid 65534", "no passwd", "no network"} <= report
        env = next(r for r in report if r.startswith("env ")).split()[1:]
        assert not [name for name in env if name.startswith("AUDITAPP")]
        # it is the first process's child, inside the same sandbox (the first is pid 2 there, after bwrap's init)
        assert "parent 2" in report
        assert second.proc.outer in _descendants(first.pid) and second.proc.outer != first.pid
        # ended alone: the first one still serves
        second.kill()
        assert not second.alive() and not _alive(second.proc.outer)
        fitted, frame, lr = _fitted_lr()
        first.assign(_ref(lr, "lr.skops"))
        first.load(lr, deadline=time.monotonic() + 120)
        answer = first.request("predict", {"rows": frame, "labels": False}, deadline=time.monotonic() + 60)
        np.testing.assert_allclose(answer["proba"], fitted.predict_proba(frame), rtol=0, atol=1e-12)
    finally:
        first.kill()
        second.kill()
    assert not first.alive() and not _alive(first.pid)


def test_the_second_process_of_a_pair_is_stopped_at_its_own_cpu_time_limit_with_that_message():
    """Its exit status is read although it is not this process's child (a limit is named as for any other)."""
    from auditapp.inputs.sandbox_process import ModelProcessFailed

    first, second = _pair(cpu_seconds=4, timeout=120)
    try:
        data, frame = pipeline_calling("def f(X):\n    while True:\n        pass\n")
        second.assign(_ref(data, "spin.pkl"))
        second.load(data, deadline=time.monotonic() + 120)
        with pytest.raises(ModelProcessFailed) as failed:
            second.request("predict", {"rows": frame}, deadline=time.monotonic() + 120)
        assert not failed.value.process_survives
        assert isinstance(failed.value.error, LimitExceededError)
        assert "spin.pkl used up the sandbox's CPU-time limit (4 s" in str(failed.value.error)
        assert first.alive()  # the first process of the sandbox is not touched
    finally:
        first.kill()
        second.kill()


def test_a_pair_serves_one_model_and_its_first_process_outlives_a_busy_second(limits):
    """One sandbox, one model: the pool binds a pair to the first model given, and never ends the first
    process (which ends the sandbox) while the second is still working."""
    limits(processes=4, idle_seconds=30)
    pool = sandbox.default_pool()
    pool.prestart(2, preload=True)
    _wait_for(lambda: len(pool._spares) == 2)  # noqa: SLF001 - the pool's own record of them
    first, second = pool._spares  # noqa: SLF001
    assert first.pair is second.pair and first.pair.members == [first, second]
    fitted, frame, data = _fitted_lr()
    model = load_model(data, filename="lr.skops", scope="session-a")
    np.testing.assert_allclose(model.predict_proba(frame), fitted.predict_proba(frame), rtol=0, atol=1e-12)
    assert first.pair.key == model.learner.ref.key and pool._spares == [second]  # noqa: SLF001
    other = load_model(data, filename="lr.skops", scope="session-b")  # another session: not the pair's twin
    np.testing.assert_allclose(other.predict_proba(frame), fitted.predict_proba(frame), rtol=0, atol=1e-12)
    assert pool._spares == [second] and second.ref is None  # noqa: SLF001
    # The second process busy (as while a long candidate trains), the first idle past its idle time: kept.
    with pool._cond:  # noqa: SLF001
        pool._spares.remove(second)  # noqa: SLF001
        second.assign(model.learner.ref)
        second.busy = True
        pool._children.append(second)  # noqa: SLF001
        for child in pool._children:  # noqa: SLF001
            child.last_used -= 60
        pool._drop_stale()  # noqa: SLF001
        assert first in pool._children and first.alive()  # noqa: SLF001
        second.busy = False
        pool._drop_stale()  # noqa: SLF001
        assert first not in pool._children and second not in pool._children  # noqa: SLF001
