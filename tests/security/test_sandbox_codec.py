"""The wire format between auditapp and a model process: what it carries, and what it refuses to."""

from __future__ import annotations

import io
import json
import os
import pickle
import threading
import time

import numpy as np
import pandas as pd
import pytest

from auditapp.inputs.sandbox_codec import (
    DeadlineExceeded,
    ProtocolError,
    decode,
    encode,
    pack,
    read_frame,
    write_frame,
)


def round_trip(value, *, frames=True):
    read_fd, write_fd = os.pipe()
    try:
        writer = threading.Thread(target=write_frame, args=(write_fd, encode(value)))
        writer.start()
        parts = read_frame(read_fd, deadline=time.monotonic() + 10)
        writer.join()
        return decode(parts, frames=frames)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_values_arrays_and_tables_survive_the_trip():
    frame = pd.DataFrame({"n": [1.5, np.nan, 3.0], "s": ["a", None, "c"], "c": pd.Categorical(["x", "y", "x"]),
                          "i": [1, 2, 3]}, index=[10, 20, 30])
    value = {"rows": frame, "labels": np.array(["no", "yes", "no"]), "proba": np.eye(3), "nan": float("nan"),
             "pair": (1, "two"), "by_class": {0: "zero", 1.5: "x"}, "blob": b"\x00skops", "none": None}
    back = round_trip(value)
    pd.testing.assert_frame_equal(back["rows"], frame)
    np.testing.assert_array_equal(back["labels"], value["labels"])
    np.testing.assert_array_equal(back["proba"], np.eye(3))
    assert np.isnan(back["nan"]) and back["pair"] == (1, "two") and back["by_class"] == {0: "zero", 1.5: "x"}
    assert back["blob"] == b"\x00skops" and back["none"] is None


def test_auditapp_refuses_tables_from_a_model_process():
    with pytest.raises(ProtocolError, match="only numbers and text"):
        round_trip({"rows": pd.DataFrame({"a": [1]})}, frames=False)


def test_object_arrays_and_pickles_cannot_be_expressed_or_smuggled():
    with pytest.raises(TypeError, match="mixed values"):
        encode(np.array([1, "a", None], dtype=object))
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    header = json.dumps({"ok": {"$nd": 1}}).encode()
    with pytest.raises(ProtocolError, match="malformed array"):
        decode([header, buffer.getvalue()], frames=False)
    with pytest.raises(ProtocolError, match="malformed JSON"):
        decode([pickle.dumps({"ok": 1})], frames=False)
    with pytest.raises(ProtocolError, match="unknown tag"):
        decode([json.dumps({"$pickle": "x", "y": 1}).encode()], frames=False)
    with pytest.raises(ProtocolError, match="missing part"):
        decode([json.dumps({"$b": 3}).encode()], frames=False)


def test_reading_is_bounded_in_size_and_time():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, pack([b"{}", b"x" * 1000])[:40])
        with pytest.raises(ProtocolError, match="larger than the limit of 100 bytes"):
            read_frame(read_fd, deadline=time.monotonic() + 5, max_bytes=100)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"AUSB" + (3).to_bytes(4, "little") + (5).to_bytes(8, "little") + b"ab")
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            read_frame(read_fd, deadline=time.monotonic() + 0.3)
        assert time.monotonic() - started < 2
    finally:
        os.close(read_fd)
        os.close(write_fd)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"NOPE" + bytes(8))
        with pytest.raises(ProtocolError, match="wrong magic"):
            read_frame(read_fd, deadline=time.monotonic() + 5)
    finally:
        os.close(read_fd)
        os.close(write_fd)
