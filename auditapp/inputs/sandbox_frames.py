"""Frames on file descriptors: how a sandboxed model process and auditapp exchange messages, bounded.

A message is a frame: the magic ``AUSB``, the number of parts (4 bytes) and each part as an 8-byte length and
its bytes (what the parts hold: :mod:`auditapp.inputs.sandbox_codec`). Reading a frame is bounded: the number
of parts, each part's size and the whole message are checked against limits before anything is allocated, and
every read has a deadline. Kept apart from the codec (NumPy, pandas) so that starting a model process imports
neither: the command line starts its model processes before it has imported them.
"""

from __future__ import annotations

import os
import select
import struct
import time

MAGIC = b"AUSB"
MAX_PARTS = 10_000
_HEAD = struct.Struct("<4sI")
_LENGTH = struct.Struct("<Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message, or too much of it."""


class DeadlineExceeded(Exception):
    """A read or write did not finish before its deadline."""


# -- frames on file descriptors --------------------------------------------------------------------
def pack(parts: list[bytes]) -> bytes:
    """One frame holding ``parts``."""
    pieces = [_HEAD.pack(MAGIC, len(parts))]
    for part in parts:
        pieces += [_LENGTH.pack(len(part)), part]
    return b"".join(pieces)


def write_frame(fd: int, parts: list[bytes], *, deadline: float | None = None) -> None:
    """Write one frame to ``fd``; with a deadline, ``fd`` must be non-blocking.

    Raises
    ------
    DeadlineExceeded
        If the other side does not read it all before ``deadline`` (``time.monotonic()``).
    """
    view = memoryview(pack(parts))
    while view:
        if deadline is not None:
            _wait(fd, deadline, write=True)
        try:
            written = os.write(fd, view[:1 << 20])
        except BlockingIOError:
            continue
        view = view[written:]


def read_frame(fd: int, *, deadline: float | None = None, max_bytes: int = 1 << 62,
               idle: float | None = None) -> list[bytes] | None:
    """Read one frame from ``fd``; None when the other side closed it before a frame began.

    ``idle`` (seconds) bounds the wait for the first byte: then None is returned as if closed.

    Raises
    ------
    ProtocolError
        For a wrong magic, too many parts, or a message larger than ``max_bytes``.
    DeadlineExceeded
        If the frame is not complete before ``deadline``.
    """
    if idle is not None and not _ready(fd, idle, write=False):
        return None
    head = _read_exact(fd, _HEAD.size, deadline, allow_eof=True)
    if head is None:
        return None
    magic, count = _HEAD.unpack(head)
    if magic != MAGIC:
        raise ProtocolError("wrong magic: not an auditapp sandbox message")
    if count > MAX_PARTS:
        raise ProtocolError(f"{count} parts is more than {MAX_PARTS}")
    total, parts = 0, []
    for _ in range(count):
        (length,) = _LENGTH.unpack(_read_part(fd, _LENGTH.size, deadline))
        total += length
        if total > max_bytes:
            raise ProtocolError(f"the message is larger than the limit of {max_bytes:,} bytes")
        parts.append(_read_part(fd, length, deadline))
    return parts


def _read_part(fd: int, size: int, deadline: float | None) -> bytes:
    """``size`` bytes inside a message (the other side closing here is a protocol error)."""
    data = _read_exact(fd, size, deadline)
    if data is None:  # only with allow_eof, which a message's inside never allows
        raise ProtocolError("the other side closed the connection in the middle of a message")
    return data


def _read_exact(fd: int, size: int, deadline: float | None, *, allow_eof: bool = False) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < size:
        if deadline is not None:
            _wait(fd, deadline, write=False)
        try:
            chunk = os.read(fd, min(size - len(buffer), 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            if allow_eof and not buffer:
                return None
            raise ProtocolError("the other side closed the connection in the middle of a message")
        buffer += chunk
    return bytes(buffer)


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not _ready(fd, remaining, write=write):
        raise DeadlineExceeded


def _ready(fd: int, seconds: float, *, write: bool) -> bool:
    """Whether ``fd`` can be read (or written) within ``seconds``; poll, not select (no 1024-fd limit)."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    return bool(poller.poll(max(0, int(seconds * 1000))))
