"""The model process: ``python -I -B -m auditapp.inputs.sandbox_worker --memory-mb N --cpu-seconds S ...``.

Started by :mod:`auditapp.inputs.sandbox` inside the sandbox (:mod:`auditapp.inputs.sandbox_platform`). Before it reads
a byte of the model it sets its own resource limits (address space, CPU time, no files written, no core
dumps), asks to die with its parent, and moves the protocol off stdout so that anything a library prints
goes to stderr. Then it loads the one model it is started for (the first message) and answers requests
for the fixed tasks of :mod:`auditapp.inputs.sandbox_tasks` until it has been idle for ``--idle-seconds``.
Every answer is JSON and NumPy arrays (:mod:`auditapp.inputs.sandbox_codec`); errors are answered as a kind and
a message, never as a traceback or an object.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import time
from typing import Any

MESSAGE_LIMIT = 2000
# Model processes yield the CPU to the app's own processes (pages, the job that shows each result as it
# comes): a model busy training never makes the server slow to answer.
NICENESS = 5
_PR_SET_PDEATHSIG = 1


def _set_limits(memory_mb: int, cpu_seconds: int) -> None:
    memory = int(memory_mb) * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit ends the process (its default action), which the parent can name;
    # the hard limit a few seconds later is SIGKILL, should anything catch SIGXCPU.
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds) + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def _die_with_parent() -> None:
    """SIGKILL when the parent goes (bubblewrap does this too; the weak fallback relies on it)."""
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent went before the signal was armed
        os._exit(0)


def _protocol_fds() -> tuple[int, int]:
    """Private copies of stdin/stdout for the protocol; stdout becomes stderr, stdin /dev/null."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return read_fd, write_fd


def _error(exc: BaseException) -> dict[str, Any]:
    from auditapp.core.errors import AuditInputError, LimitExceededError, UntrustedModelError

    if isinstance(exc, MemoryError):
        kind, message = "memory", str(exc) or "out of memory"
    elif isinstance(exc, UntrustedModelError):
        kind, message = "untrusted", str(exc)
    elif isinstance(exc, LimitExceededError):
        kind, message = "limit", str(exc)
    elif isinstance(exc, AuditInputError):
        kind, message = "input", str(exc)
    elif _looks_like_allocation_failure(exc):
        kind, message = "memory", f"{type(exc).__name__}: {exc}"
    else:
        kind, message = "failed", f"{type(exc).__name__}: {exc}"
    return {"error": {"kind": kind, "message": message[:MESSAGE_LIMIT]}}


def _looks_like_allocation_failure(exc: BaseException) -> bool:
    """onnxruntime reports a failed allocation as a RuntimeException whose text names it."""
    text = str(exc).lower()
    return "bad_alloc" in text or "failed to allocate" in text or "allocation" in text and "fail" in text


class _Channel:
    """The protocol on two file descriptors, with throttled progress messages."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd
        self._last_progress = 0.0

    def send(self, value: Any) -> None:
        from auditapp.inputs.sandbox_codec import encode, write_frame

        write_frame(self.write_fd, encode(value))

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_progress >= 0.2 or fraction >= 1:
            self._last_progress = now
            self.send({"progress": [float(fraction), str(message)[:200]]})


def _fork_twin(channel: _Channel, fds: tuple[int, int, int]) -> _Channel:
    """Fork a copy of this process to serve the second channel ``fds`` (read, write, stderr); return the
    channel this process serves from here on (its own in the parent, the second one in the copy).

    The copy inherits this sandbox, these limits and the imports just done (~1 s of CPU a second process
    would repeat), and no model: both load the model they are then sent, as two processes would. It says
    who it is first (``{"twin": pid}``, its pid in this sandbox), before anything from a model has run, so
    the parent can end it alone. Without a fork (it failed) the second channel is closed: its parent sees
    it end before it says who it is.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        pid = -1
    if pid != 0:
        for fd in fds:
            os.close(fd)
        return channel
    read_fd, write_fd, err_fd = fds
    os.close(channel.read_fd)
    os.close(channel.write_fd)
    os.dup2(err_fd, 1)
    os.dup2(err_fd, 2)
    os.close(err_fd)
    _die_with_parent()
    twin = _Channel(read_fd, write_fd)
    twin.send({"twin": os.getpid()})
    return twin


def serve(channel: _Channel, *, idle_seconds: float, preload: bool = False,
          twin: tuple[int, int, int] | None = None) -> int:
    """Load the model of the first request, then answer requests until idle or closed.

    With ``preload`` the imports a scikit-learn model's loading needs come first (a process started ahead
    of its model spends the wait on them); either way, no model arriving within ``idle_seconds`` ends it.
    With ``twin`` a copy of the process is forked after those imports to serve a second channel
    (:func:`_fork_twin`).
    """
    from auditapp.inputs.sandbox_codec import decode, read_frame
    from auditapp.inputs.sandbox_tasks import TASKS, load, preload_scikit_learn

    if preload:
        preload_scikit_learn()
    if twin is not None:
        channel = _fork_twin(channel, twin)
    parts = read_frame(channel.read_fd, idle=idle_seconds)
    if parts is None:
        return 0
    request = decode(parts, frames=True)
    try:
        state = load(request["args"])
    except BaseException as exc:  # noqa: BLE001 - every failure is answered, then the process ends
        channel.send(_error(exc))
        return 0
    channel.send({"ok": state.info})
    while True:
        parts = read_frame(channel.read_fd, idle=idle_seconds)
        if parts is None:
            return 0
        request = decode(parts, frames=True)
        try:
            result = TASKS[request["task"]](state, request.get("args") or {}, channel.progress)
        except BaseException as exc:  # noqa: BLE001 - answered as a message; the caller decides
            channel.send(_error(exc))
            continue
        channel.send({"ok": result})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auditapp.inputs.sandbox_worker")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--idle-seconds", type=float, required=True)
    parser.add_argument("--preload", action="store_true")
    parser.add_argument("--twin", help="read,write,stderr descriptors of a second channel (forked copy)")
    args = parser.parse_args(argv)
    fds = [int(fd) for fd in args.twin.split(",")] if args.twin else []
    if args.twin and (len(fds) != 3 or min(fds) < 3):
        parser.error("--twin takes three inherited descriptors (3 or above)")
    twin = (fds[0], fds[1], fds[2]) if fds else None
    _set_limits(args.memory_mb, args.cpu_seconds)
    os.nice(NICENESS)
    _die_with_parent()
    channel = _Channel(*_protocol_fds())
    from auditapp.core.runtime import limit_threads

    limit_threads(1)
    return serve(channel, idle_seconds=args.idle_seconds, preload=args.preload, twin=twin)


if __name__ == "__main__":
    sys.exit(main())
