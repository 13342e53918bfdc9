"""One tie rule for scores and models; 'None' and 'NA' stay categories unless mapped to missing."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from auditapp.cli.main import main
from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.missing import parse_missing_values
from auditapp.core.spec import MISSING_GROUP, AuditSpec, prepare
from auditapp.inputs.intake import read_table
from auditapp.inputs.models import from_estimator
from tests.facts import says


def _tied_model():
    """A logistic regression whose probability is exactly 0.5 where x == 0 (its predict says 0 there)."""
    frame = pd.DataFrame({"x": [-1.0, 1.0, -2.0, 2.0]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    model.coef_, model.intercept_ = np.array([[1.0]]), np.array([0.0])
    return model


def test_a_probability_of_exactly_one_half_is_favourable_with_or_without_a_threshold():
    model = _tied_model()
    frame = pd.DataFrame({"x": [-1.0, 0.0, 0.0, 1.0], "g": ["a", "a", "b", "b"], "y": [0, 1, 0, 1]})
    assert model.predict_proba(frame[["x"]])[1, 1] == 0.5 and model.predict(frame[["x"]])[1] == 0
    audit_model = from_estimator(model)
    default = prepare(frame, AuditSpec(target="y", sensitive=("g",)), audit_model)
    explicit = prepare(frame, AuditSpec(target="y", sensitive=("g",), threshold=0.5), audit_model)
    assert default.y_pred.tolist() == explicit.y_pred.tolist() == [0, 1, 1, 1]
    assert default.threshold is None and "(0.5: no threshold was given)" in default.decision_rule
    scores = prepare(frame.assign(s=[0.2, 0.5, 0.5, 0.9]), AuditSpec(target="y", sensitive=("g",), score="s"))
    assert scores.y_pred.tolist() == [0, 1, 1, 1]


def test_the_record_states_the_decision_rule(tmp_path):
    frame = pd.DataFrame({"s": [0.2, 0.5, 0.7, 0.1] * 10, "g": ["a", "b"] * 20, "y": [0, 1, 1, 0] * 10})
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "r.json"
    assert main(["audit", "--data", str(tmp_path / "d.csv"), "--target", "y", "--sensitive", "g", "--score", "s",
                 "--bootstrap", "0", "--json", str(out)]) == 0
    rule = json.loads(out.read_text())["settings"]["decision_rule"]
    assert rule == "favourable when the score column 's' is >= 0.5 (0.5: no threshold was given)"


def test_a_record_written_before_the_decision_rule_still_verifies(tmp_path, capsys):
    frame = pd.DataFrame({"p": [0, 1, 1, 0] * 10, "g": ["a", "b"] * 20, "y": [0, 1, 0, 0] * 10})
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "r.json"
    main(["audit", "--data", str(tmp_path / "d.csv"), "--target", "y", "--sensitive", "g", "--prediction", "p",
          "--bootstrap", "20", "--json", str(out)])
    record = json.loads(out.read_text())
    del record["settings"]["decision_rule"]
    out.write_text(json.dumps(record))
    assert main(["verify", str(out), "--data", str(tmp_path / "d.csv")]) == 0
    record["settings"]["threshold"] = 0.7  # the older record's other settings are still compared
    out.write_text(json.dumps(record))
    assert main(["verify", str(out), "--data", str(tmp_path / "d.csv")]) == 1
    capsys.readouterr()


NA_CSV = (
    b"nationality,income,hired,pred\n"
    b"None,10,1,1\nNA,20,0,1\n,30,1,0\nUK,NA,0,0\nNA,40,1,1\nnull,50,0,0\nUK,60,1,1\nNone,70,0,1\n"
)


def test_none_and_na_stay_groups_and_the_notice_says_so():
    dataset = read_table(NA_CSV, filename="people.csv")
    assert dataset.frame["nationality"].tolist()[:2] == ["None", "NA"] and pd.isna(dataset.frame["nationality"][2])
    data = prepare(dataset.frame, AuditSpec(target="hired", sensitive=("nationality",), prediction="pred"))
    assert sorted(set(data.sensitive_features["nationality"])) == sorted({"None", "NA", "null", "UK", MISSING_GROUP})
    assert pd.api.types.is_float_dtype(dataset.frame["income"]) and dataset.frame["income"].isna().sum() == 1
    read, kept = dataset.notices
    says(read, "missing", "people.csv", "'nationality' 1 empty", "'income' 'NA' ×1", "a column of numbers")
    assert kept.startswith("Kept as values, not missing, in people.csv: 'nationality' 'None' ×2, 'NA' ×2, 'null' ×1.")


def test_words_listed_as_missing_join_the_missing_group(tmp_path, capsys):
    dataset = read_table(NA_CSV, filename="people.csv", missing_values="None, NA")
    groups = prepare(dataset.frame, AuditSpec(target="hired", sensitive=("nationality",), prediction="pred"))
    assert groups.sensitive_features["nationality"].tolist() == [MISSING_GROUP] * 3 + ["UK", MISSING_GROUP, "null",
                                                                                        "UK", MISSING_GROUP]
    assert "'nationality' 1 empty; 'None' ×2, 'NA' ×2 (listed as missing)" in dataset.notices[0]
    # Through the CLI, and the record keeps the words so that verify reads the data the same way.
    (tmp_path / "d.csv").write_bytes(NA_CSV)
    out = tmp_path / "r.json"
    assert main(["audit", "--data", str(tmp_path / "d.csv"), "--target", "hired", "--sensitive", "nationality",
                 "--prediction", "pred", "--min-group-size", "1", "--bootstrap", "20", "--missing-values", "None,NA",
                 "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["dataset"]["missing_values"] == ["None", "NA"]
    assert {g["attributes"]["nationality"] for g in record["groups"]} == {MISSING_GROUP, "UK", "null"}
    assert main(["verify", str(out), "--data", str(tmp_path / "d.csv")]) == 0
    assert "Read as missing in d.csv" in capsys.readouterr().out


def test_the_largest_group_is_a_real_category_not_the_missing_cells():
    rows = ["NA,1,1"] * 5 + [",0,1"] * 3 + ["UK,1,0"] * 4
    dataset = read_table(("nationality,hired,pred\n" + "\n".join(rows) + "\n").encode(), filename="t.csv")
    audit = run_audit(dataset.frame, AuditSpec(target="hired", sensitive=("nationality",), prediction="pred",
                                               n_boot=0, min_group_size=1))
    assert audit.result.groupings[0].reference == "NA"
    assert audit.result.groupings[0].groups.loc[MISSING_GROUP, "count"] == 3


def test_parquet_text_stays_text_and_its_nulls_are_missing():
    frame = pd.DataFrame({"code": ["007", "NA", None, "12"], "y": [1, 0, 1, 0]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    dataset = read_table(buffer.getvalue(), filename="t.parquet")
    assert dataset.frame["code"].tolist()[:2] == ["007", "NA"] and pd.isna(dataset.frame["code"].iloc[2])
    assert dataset.notices[0] == "Read as missing in t.parquet: 'code' 1 empty."
    mapped = read_table(buffer.getvalue(), filename="t.parquet", missing_values=["NA"])
    assert int(mapped.frame["code"].isna().sum()) == 2


@pytest.mark.parametrize(("words", "message"), [
    (",".join(f"w{i}" for i in range(51)), "at most 50"),
    ("ok,bad\x07word", "control characters"),
])
def test_bad_missing_value_words_are_refused(words, message):
    with pytest.raises(AuditInputError, match=message):
        parse_missing_values(words)
    assert parse_missing_values(" None , NA,None,, ") == ("None", "NA")
