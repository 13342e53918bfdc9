"""Bad files through ``POST /api/upload/<kind>``: each gets a clear message; the next upload works."""

from __future__ import annotations

import os
import pickle

import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


class RunsCodeWhenUnpickled:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class NotOnTheAllowList(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def test_truncated_csv_names_the_broken_line(upload, frame, answers_normally):
    data = frame.to_csv(index=False).encode()
    status, body = upload("dataset", "cut.csv", data[: len(data) // 2 - 5])
    assert status == 200
    assert "may be truncated" in body["error"] and "line" in body["error"]
    answers_normally()


def test_binary_file_named_csv_is_refused(upload, answers_normally):
    status, body = upload("dataset", "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(3000))
    assert status == 200
    assert "not a text table" in body["error"] and "binary data" in body["error"]
    answers_normally()


@pytest.mark.parametrize("data", [b"", b"  \n\n"])
def test_empty_file_is_refused(upload, answers_normally, data):
    status, body = upload("dataset", "empty.csv", data)
    assert status == 200 and "is empty" in body["error"]
    answers_normally()


def test_ten_thousand_columns_are_refused_with_the_limit(upload, answers_normally):
    header = ",".join(f"c{i}" for i in range(10_000))
    status, body = upload("dataset", "wide.csv", f"{header}\n{','.join('1' * 10_000)}\n".encode())
    assert status == 200
    assert "10,000 columns" in body["error"] and "AUDITAPP_MAX_COLUMNS" in body["error"]
    answers_normally()


def test_row_limit_is_configurable(upload, answers_normally, use_limits, frame):
    use_limits(environ={"AUDITAPP_MAX_ROWS": "100"})
    status, body = upload("dataset", "long.csv", frame.to_csv(index=False).encode())
    assert "240 rows, over the limit of 100" in body["error"] and "AUDITAPP_MAX_ROWS" in body["error"]
    use_limits()
    answers_normally()


def test_upload_over_the_size_limit_is_refused_while_streaming(upload, answers_normally, store):
    status, body = upload("dataset", "huge.csv", b"a\n" + b"1\n" * 1_200_000)
    assert status == 200
    assert "upload limit of 2 MB" in body["error"] and "AUDITAPP_MAX_UPLOAD_BYTES" in body["error"]
    assert list((store.root / "tmp").iterdir()) == []  # the partial file was removed
    answers_normally()


def test_malicious_pickle_is_refused_and_never_run(upload, answers_normally, tmp_path):
    marker = tmp_path / "pwned"
    status, body = upload("model", "model.pkl", pickle.dumps(RunsCodeWhenUnpickled(marker)))
    assert status == 200 and "pickle runs code when it is loaded" in body["error"]
    assert not marker.exists()
    answers_normally()


def test_skops_file_with_untrusted_types_is_refused(upload, answers_normally, frame, tmp_path):
    model = make_pipeline(NotOnTheAllowList(), StandardScaler()).fit(frame[["x", "z"]])
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    status, body = upload("model", "model.skops", path.read_bytes())
    assert status == 200 and "NotOnTheAllowList" in body["error"]
    answers_normally()


@pytest.mark.parametrize(("name", "data", "message"), [
    ("model.onnx", b"\x08\x07" + b"not a protobuf" * 50, "not a valid ONNX model"),
    ("model.skops", b"PK\x03\x04 broken zip", "not a valid skops file"),
])
def test_corrupted_model_files_are_refused(upload, answers_normally, name, data, message):
    status, body = upload("model", name, data)
    assert status == 200 and message in body["error"]
    answers_normally()


def test_upload_without_a_valid_session_is_refused(upload, answers_normally, frame):
    status, body = upload("dataset", "good.csv", frame.to_csv(index=False).encode(), session="forged.token")
    assert status == 200 and "session has expired or is not valid" in body["error"]
    answers_normally()


def test_unknown_upload_kind_is_not_found(client, token):
    response = client.post("/api/upload/script", data=b"x", headers={"X-Auditapp-Session": token,
                                                                      "X-Filename": "x.csv"})
    assert response.status_code == 404 and "Unknown upload kind" in response.get_json()["error"]


def test_path_and_control_characters_in_file_names_are_dropped(upload, frame):
    status, body = upload("dataset", "../../etc/\x00evil\r\n.csv", frame.to_csv(index=False).encode())
    assert status == 200 and "error" not in body
    assert body["name"] == "evil.csv"


def test_unicode_and_emoji_column_names_are_accepted(upload, store, token):
    data = "séx 😀,y,prédiction\nf,1,0\nm,0,1\n".encode()
    status, body = upload("dataset", "données 😀.csv", data)
    assert status == 200 and body["columns"] == 3 and body["name"] == "données 😀.csv"
    assert store.info(token, body["id"]).name == "données 😀.csv"
