"""The wire format between auditapp and its sandboxed model processes: JSON plus raw arrays, no pickle.

A message is a frame: the magic ``AUSB``, the number of parts (4 bytes) and each part as an 8-byte
length and its bytes. Part 0 is a JSON document; the others are binary blobs it points to:

- ``{"$nd": i}`` a NumPy array in ``.npy`` format, read with ``allow_pickle=False`` (so numbers, booleans
  and fixed-width text only: object arrays cannot be expressed);
- ``{"$df": i}`` a pandas DataFrame as an Arrow IPC stream (sent to the sandbox only: ``decode`` in
  auditapp's own processes is called with ``frames=False`` and refuses them);
- ``{"$b": i}`` raw bytes (e.g. a model file produced in the sandbox, stored and never loaded here);
- ``{"$t": [...]}`` a tuple, ``{"$map": [[key, value], ...]}`` a dict whose keys are not all text.

Everything else is plain JSON (NaN and infinities as JSON's common extension). Frames are read and
written by :mod:`auditapp.inputs.sandbox_frames` (bounded, with deadlines), re-exported here.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd

from auditapp.inputs.sandbox_frames import (  # noqa: F401 - the framing, re-exported with the codec
    MAGIC,
    MAX_PARTS,
    DeadlineExceeded,
    ProtocolError,
    pack,
    read_frame,
    write_frame,
)

MAX_JSON_BYTES = 64 * 1024**2
_NUMERIC_KINDS = "biufU"


# -- values <-> JSON + blobs -----------------------------------------------------------------------
def encode(value: Any) -> list[bytes]:
    """``value`` (JSON types, tuples, NumPy arrays and scalars, DataFrames, bytes) as message parts."""
    blobs: list[bytes] = []
    document = _to_json(value, blobs)
    return [json.dumps(document, allow_nan=True, separators=(",", ":")).encode("utf-8"), *blobs]


def _to_json(value: Any, blobs: list[bytes]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return _to_json(value.item(), blobs)
    if isinstance(value, (bytes, bytearray, memoryview)):
        blobs.append(bytes(value))
        return {"$b": len(blobs)}
    if isinstance(value, np.ndarray):
        blobs.append(_npy_bytes(value))
        return {"$nd": len(blobs)}
    if isinstance(value, pd.DataFrame):
        blobs.append(_arrow_bytes(value))
        return {"$df": len(blobs)}
    if isinstance(value, tuple):
        return {"$t": [_to_json(v, blobs) for v in value]}
    if isinstance(value, list):
        return [_to_json(v, blobs) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _to_json(v, blobs) for k, v in value.items()}
        return {"$map": [[_to_json(k, blobs), _to_json(v, blobs)] for k, v in value.items()]}
    raise TypeError(f"Cannot send a {type(value).__name__} to or from the sandbox.")


def _npy_bytes(array: np.ndarray) -> bytes:
    if array.dtype.kind == "O":
        converted = np.asarray(array.tolist())
        if converted.dtype.kind not in _NUMERIC_KINDS or converted.shape != array.shape:
            raise TypeError("An object array with mixed values cannot be sent; convert it to text first.")
        array = converted
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def frame_digest(frame: pd.DataFrame) -> str:
    """The sha256 of ``frame`` exactly as it would be sent to a model process (its Arrow stream: values,
    column names and types, index)."""
    import hashlib

    return hashlib.sha256(_arrow_bytes(frame)).hexdigest()


def _arrow_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=True)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode(parts: list[bytes], *, frames: bool) -> Any:
    """The value of a message; ``frames=False`` refuses DataFrames (auditapp's side never reads Arrow
    from the sandbox: results are JSON and NumPy arrays only).

    Raises
    ------
    ProtocolError
        If the JSON is malformed or points to a missing part, or a part is not what it claims.
    """
    if not parts:
        raise ProtocolError("empty message")
    if len(parts[0]) > MAX_JSON_BYTES:
        raise ProtocolError(f"the JSON part is larger than {MAX_JSON_BYTES:,} bytes")
    try:
        document = json.loads(parts[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed JSON: {type(exc).__name__}") from exc
    try:
        return _from_json(document, parts, frames)
    except RecursionError as exc:
        raise ProtocolError("message nested too deeply") from exc


def _blob(parts: list[bytes], index: Any) -> bytes:
    if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index < len(parts):
        raise ProtocolError(f"reference to a missing part {index!r}")
    return parts[index]


def _from_json(node: Any, parts: list[bytes], frames: bool) -> Any:
    if isinstance(node, list):
        return [_from_json(v, parts, frames) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (tag, payload), = node.items()
        if tag == "$nd":
            return _read_npy(_blob(parts, payload))
        if tag == "$b":
            return _blob(parts, payload)
        if tag == "$df":
            if not frames:
                raise ProtocolError("a table was sent where only numbers and text are accepted")
            return _read_arrow(_blob(parts, payload))
        if tag == "$t":
            if not isinstance(payload, list):
                raise ProtocolError("malformed tuple")
            return tuple(_from_json(v, parts, frames) for v in payload)
        if tag == "$map":
            if not isinstance(payload, list) or not all(isinstance(p, list) and len(p) == 2 for p in payload):
                raise ProtocolError("malformed mapping")
            return {_hashable(_from_json(k, parts, frames)): _from_json(v, parts, frames) for k, v in payload}
    if any(k.startswith("$") for k in node):
        raise ProtocolError(f"unknown tag in {sorted(node)[:3]}")
    return {k: _from_json(v, parts, frames) for k, v in node.items()}


def _hashable(key: Any) -> Any:
    if isinstance(key, (str, int, float, bool, tuple)) or key is None:
        return key
    raise ProtocolError("a mapping key must be a number, text or a tuple")


def _read_npy(blob: bytes) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(blob), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ProtocolError(f"malformed array: {exc}") from exc
    if not isinstance(array, np.ndarray) or array.dtype.kind not in _NUMERIC_KINDS:
        raise ProtocolError("an array must hold numbers, booleans or text")
    return array


def _read_arrow(blob: bytes) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pa.ipc.open_stream(blob).read_all().to_pandas()
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise ProtocolError(f"malformed table: {exc}") from exc
