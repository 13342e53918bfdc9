"""Issue 12, finding 1: crafted skops files that call file-reading, file-writing, deleting, importing and
unpickling functions while they load. Each gadget is shown to work (loaded by skops with its names
trusted, as the old prefix allow-list did), then refused by auditapp through the library, the upload
route and the command line, with no side effect."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import skops_gadgets as gadgets

from auditapp.cli.main import EXIT_BAD_INPUT, main
from auditapp.core.errors import UntrustedModelError
from auditapp.inputs.allowlist import skops_type_names
from auditapp.inputs.models import load_model


@pytest.fixture
def victim(tmp_path):
    """Files a gadget would read, write, delete or import; and a check that none of that happened."""
    secret = tmp_path / "secret.txt"
    secret.write_text("api-key=hunter2\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tmp_path / "gadget_module.py").write_text(
        f"with open({str(tmp_path / 'imported')!r}, 'w') as handle:\n    handle.write('x')\n")

    class Victim:
        def gadget(self, kind: str) -> bytes:
            return {
                "fromregex": lambda: gadgets.fromregex(str(secret)),
                "fromregex via LossNode": lambda: gadgets.fromregex(str(secret), loader="LossNode"),
                "savetxt then load(allow_pickle=True)": lambda: gadgets.savetxt_then_load(
                    str(tmp_path / "payload.pkl"), str(tmp_path / "pwned")),
                "scipy rmtree": lambda: gadgets.rmtree(str(tree)),
                "sklearn import_module": lambda: gadgets.import_module("gadget_module"),
                "FunctionTransformer(numpy.load)": lambda: gadgets.function_transformer("numpy", "load"),
                "FunctionTransformer(numpy.matlib.load)": lambda: gadgets.function_transformer("numpy.matlib", "load"),
            }[kind]()

        def untouched(self) -> bool:
            return (tree / "sub").is_dir() and not (tmp_path / "pwned").exists() \
                and not (tmp_path / "payload.pkl").exists() and not (tmp_path / "imported").exists()

    return Victim()


GADGETS = {
    "fromregex": ["numpy.fromregex"],
    "fromregex via LossNode": ["numpy.fromregex"],
    "savetxt then load(allow_pickle=True)": ["numpy.matlib.load", "numpy.matlib.savetxt"],
    "scipy rmtree": ["scipy._lib._tmpdirs.rmtree"],
    "sklearn import_module": ["sklearn.utils.discovery.import_module"],
    "FunctionTransformer(numpy.load)": ["numpy.load"],
    "FunctionTransformer(numpy.matlib.load)": ["numpy.matlib.load"],
}


@pytest.mark.filterwarnings("ignore:Importing from numpy.matlib is deprecated:PendingDeprecationWarning")
def test_the_gadgets_work_when_their_names_are_trusted(victim, tmp_path, monkeypatch):
    # What the old prefix allow-list let through (every name starts with numpy., scipy. or sklearn.).
    monkeypatch.syspath_prepend(str(tmp_path))
    leaked = sio.loads(victim.gadget("fromregex"), trusted=sorted(GADGETS["fromregex"]))
    assert b"api-key=hunter2" in leaked.feature_names_in_.tobytes()
    for kind in ("savetxt then load(allow_pickle=True)", "scipy rmtree", "sklearn import_module"):
        sio.loads(victim.gadget(kind), trusted=GADGETS[kind])
    assert (tmp_path / "pwned").is_dir()  # the pickle written by savetxt ran os.mkdir
    assert not (tmp_path / "tree").exists()
    assert (tmp_path / "imported").exists()
    sys.modules.pop("gadget_module", None)


@pytest.mark.parametrize("kind", list(GADGETS))
def test_every_name_a_gadget_would_call_is_seen(victim, kind):
    assert set(GADGETS[kind]) <= skops_type_names(victim.gadget(kind), name="evil.skops")


@pytest.mark.parametrize("kind", list(GADGETS))
def test_gadgets_are_refused_by_the_library_naming_what_they_call(victim, kind):
    with pytest.raises(UntrustedModelError, match="not on auditapp's allow-list") as refused:
        load_model(victim.gadget(kind), filename="evil.skops")
    for name in GADGETS[kind]:
        assert name in str(refused.value)
    assert victim.untouched()


def test_gadgets_are_refused_by_the_upload_route(victim, upload, answers_normally):
    for kind in ("fromregex", "savetxt then load(allow_pickle=True)", "scipy rmtree"):
        status, body = upload("model", "model.skops", victim.gadget(kind))
        assert status == 200 and "not on auditapp's allow-list" in body["error"]
        assert "hunter2" not in str(body) and "features" not in body
    assert victim.untouched()
    answers_normally()


def test_gadgets_are_refused_by_the_command_line(victim, tmp_path, capsys):
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    data.write_text("x,z,y,sex\n" + "\n".join(f"{a:.3f},{b:.3f},{i % 2},{'fm'[i % 2]}" for i, (a, b)
                                             in enumerate(rng.normal(size=(40, 2)))))
    for kind in ("savetxt then load(allow_pickle=True)", "sklearn import_module"):
        model = tmp_path / f"{kind.split()[0]}.skops"
        model.write_bytes(victim.gadget(kind))
        status = main(["audit", "--data", str(data), "--target", "y", "--sensitive", "sex", "--model", str(model),
                       "--bootstrap", "0"])
        assert status == EXIT_BAD_INPUT
        assert "not on auditapp's allow-list" in capsys.readouterr().err
    assert victim.untouched()


@pytest.mark.parametrize("kind", list(GADGETS))
def test_the_sandbox_refuses_them_too_where_the_file_is_opened(victim, kind):
    # The model process runs ``load_model(sandbox=False)``: skops' own tree, checked name by name.
    with pytest.raises(UntrustedModelError, match="not on auditapp's allow-list"):
        load_model(victim.gadget(kind), filename="evil.skops", sandbox=False)
    assert victim.untouched()


def test_a_gadget_sent_straight_to_a_model_process_is_refused_there(victim):
    from auditapp.inputs.intake import sha256_bytes
    from auditapp.inputs.sandbox import ModelRef, current_mode
    from auditapp.inputs.sandboxed_model import SandboxedModel

    if not current_mode().strong:
        pytest.skip("needs bubblewrap")
    data = victim.gadget("savetxt then load(allow_pickle=True)")
    ref = ModelRef(sha256=sha256_bytes(data), name="evil.skops", format="skops", data=data)
    with pytest.raises(UntrustedModelError, match="numpy.matlib.load, numpy.matlib.savetxt"):
        SandboxedModel.describe(ref)  # no check in this process first
    assert victim.untouched()


def test_the_early_check_reads_every_name_skops_would_resolve(victim):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    from auditapp.inputs.allowlist import schema_names

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 2)), columns=["x", "z"])
    real = [sio.dumps(RandomForestClassifier(3, random_state=0).fit(X, np.arange(60) % 2)),
            sio.dumps(HistGradientBoostingClassifier(max_iter=3).fit(X, np.arange(60) % 2))]
    for data in [*real, *(victim.gadget(kind) for kind in GADGETS)]:
        assert skops_type_names(data, name="m.skops") <= schema_names(data, name="m.skops")
