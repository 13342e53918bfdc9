"""One sandboxed model process: start it, load its model, send it tasks, and kill it.

Every exchange has a wall-clock deadline (the process is killed when it passes), every answer is bounded
in size and decoded without pickle, and the process's stderr is drained (its last lines are kept for the
log). A process that stops without answering is described by its exit status: out of CPU time, killed
(usually out of memory), or crashed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections import deque
from typing import Any

from auditapp.core.errors import AuditInputError, LimitExceededError, UntrustedModelError
from auditapp.inputs.sandbox_frames import DeadlineExceeded, ProtocolError, read_frame, write_frame
from auditapp.inputs.sandbox_platform import CHILD_ENV, python_command

log = logging.getLogger("auditapp.inputs.sandbox")
_IDLE_GRACE = 60
_STDERR_LINES = 40
_MAX_PROGRESS = 100_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A pipe to or from a model process holds up to 1 MB (Linux's default ceiling for any user) rather than 64 KB:
# a mitigation candidate's request (its training and test rows, ~8 MB on Adult) then crosses in 8 writes, not
# 128, and in a busy command each write waits its turn for the interpreter lock (measured: 40-150 ms per
# request on Adult while other candidates were evaluated, ~10 ms with 1 MB pipes).
PIPE_BYTES = 1 << 20
DOING = {"load": "being loaded", "predict": "predicting", "explainer": "preparing its explanation",
         "explain": "computing SHAP values", "fit_candidate": "being trained for a mitigation",
         "model_loop": "being retrained in the feedback loop"}


def widen(fd: int, size: int = PIPE_BYTES) -> int:
    """Let the pipe ``fd`` hold ``size`` bytes where the system allows it; its capacity after (0: unknown)."""
    try:
        return int(fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size))
    except (AttributeError, OSError):  # not Linux, or above the system's pipe-max-size: the pipe stays as it is
        try:
            return int(fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ))
        except (AttributeError, OSError):
            return 0


class ModelProcessFailed(Exception):
    """A task did not succeed; ``error`` is what the caller raises, ``process_survives`` whether the
    process may serve another task (it answered calmly) or must be killed."""

    def __init__(self, error: AuditInputError, *, process_survives: bool, unanswered: bool = False):
        super().__init__(str(error))
        self.error = error
        self.process_survives = process_survives
        self.unanswered = unanswered  # the process was gone before the request was sent (safe to retry)


class ModelProcess:
    """A running model process bound to one model (``key``); see :class:`auditapp.inputs.sandbox.SandboxPool`."""

    def __init__(self, proc: subprocess.Popen[bytes] | TwinProcess, ref: Any, mode: Any, limits: Any) -> None:
        self.proc, self.ref, self.mode, self.limits = proc, ref, mode, limits
        self.key = ref.key if ref is not None else None
        self.pid = proc.pid
        self.busy = False
        self.uses = 0
        self.last_used = time.monotonic()
        self.info: dict[str, Any] = {}
        self.kept: str | None = None  # the key of the last kept argument sent (auditapp.inputs.sandbox.Kept)
        self.pair: Pair | None = None  # the two processes of one sandbox (spawn_pair)
        if proc.stdin is None or proc.stdout is None or proc.stderr is None:
            raise RuntimeError("A model process is started with pipes for stdin, stdout and stderr.")
        self._stdin, self._stdout, self._stderr_pipe = proc.stdin, proc.stdout, proc.stderr
        self._to_child = proc.stdin.fileno()
        self._from_child = proc.stdout.fileno()
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        threading.Thread(target=self._drain, name=f"auditapp-sandbox-stderr-{proc.pid}", daemon=True).start()

    @classmethod
    def spawn_pair(cls, mode: Any, limits: Any) -> list[ModelProcess]:
        """Start two processes in one sandbox, ahead of their model (``preload``): the first imports, then
        forks the second (``--twin``), which serves its own pipes. Start-up is paid once (~1 s of CPU on a
        2-core machine where the two would otherwise import at the same time as the command).

        The two are one sandbox: they only ever serve one model (the pool binds the pair to the first model
        it is given, :attr:`pair`). Each is ended on its own; ending the first ends the sandbox, the second
        with it, which the pool does only when the second is idle too.
        """
        ends = [os.pipe() for _ in range(3)]  # to the twin, from the twin, its stderr
        inside = (ends[0][0], ends[1][1], ends[2][1])
        try:
            command = [*mode.prefix, *python_command(
                memory_mb=limits.memory_mb, cpu_seconds=limits.cpu_seconds,
                idle_seconds=limits.idle_seconds + _IDLE_GRACE, preload=True, twin_fds=inside)]
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=dict(CHILD_ENV), cwd="/", start_new_session=True, close_fds=True,
                                    pass_fds=inside)
        except BaseException:
            for read_fd, write_fd in ends:
                os.close(read_fd)
                os.close(write_fd)
            raise
        for fd in inside:
            os.close(fd)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                widen(pipe.fileno())
        widen(ends[0][1])
        widen(ends[1][0])
        twin = TwinProcess(proc, os.fdopen(ends[0][1], "wb"), os.fdopen(ends[1][0], "rb"), os.fdopen(ends[2][0], "rb"))
        first, second = cls(proc, None, mode, limits), cls(twin, None, mode, limits)
        pair = Pair()
        first.pair = second.pair = pair
        pair.members = [first, second]
        return [first, second]

    @classmethod
    def spawn(cls, ref: Any, mode: Any, limits: Any, *, preload: bool = False) -> ModelProcess:
        """Start the process (no model yet). Runs in the pool's long-lived starter thread.

        ``ref`` is None for a process started ahead of its model (:meth:`assign` names it before
        :meth:`load`); with ``preload`` it imports what loading a scikit-learn model needs while it waits.
        """
        command = [*mode.prefix, *python_command(memory_mb=limits.memory_mb, cpu_seconds=limits.cpu_seconds,
                                                 idle_seconds=limits.idle_seconds + _IDLE_GRACE, preload=preload)]
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(CHILD_ENV), cwd="/", start_new_session=True, close_fds=True)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                widen(pipe.fileno())
        return cls(proc, ref, mode, limits)

    def _drain(self) -> None:
        """Keep the last lines the process wrote to stderr (bounded), so it never blocks on a full pipe."""
        with self._stderr_pipe:
            for raw in iter(self._stderr_pipe.readline, b""):
                self._stderr.append(_CONTROL.sub("", raw[:500].decode("utf-8", "replace")).rstrip())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def assign(self, ref: Any) -> None:
        """Give a process started ahead of its model (``ref`` None at spawn) the model it will load."""
        if self.ref is not None:
            raise RuntimeError("A model process serves one model; this one was started for another.")
        self.ref, self.key = ref, ref.key

    def load(self, data: bytes, *, deadline: float) -> None:
        """Send the model and wait for its description (``info``)."""
        args = {"data": data, "name": self.ref.name, "trust_pickle": self.ref.trust_pickle}
        self.info = self._exchange("load", args, deadline, None)
        log.info("model process %s started for %s (%s)", self.pid, self.ref.name, self.mode.summary.split(":")[0])

    def request(self, task: str, args: dict[str, Any], *, deadline: float, progress: Any = None) -> Any:
        """Run ``task`` and return its decoded answer (see :mod:`auditapp.inputs.sandbox_tasks`)."""
        return self._exchange(task, args, deadline, progress)

    def _exchange(self, task: str, args: dict[str, Any], deadline: float, progress: Any) -> Any:
        # The codec (NumPy, pandas) is imported by the first request, not to start a process (sandbox_frames).
        from auditapp.inputs.sandbox_codec import decode, encode

        max_bytes = self.limits.reply_mb * 1024**2
        sent, updates = False, 0
        try:
            if isinstance(self.proc, TwinProcess) and self.proc.inner is None:
                # the forked twin says who it is before anything else (before any model has run)
                parts = read_frame(self._from_child, deadline=deadline, max_bytes=1024)
                if parts is None:  # never forked, or gone before it said who it is: nothing left to end
                    self.proc.returncode = -signal.SIGKILL
                hello = None if parts is None else decode(parts, frames=False)
                if not isinstance(hello, dict) or set(hello) != {"twin"} or not isinstance(hello["twin"], int) \
                        or isinstance(hello["twin"], bool):
                    raise ProtocolError("closed" if parts is None else "malformed greeting")
                self.proc.identify(hello["twin"])
            write_frame(self._to_child, encode({"task": task, "args": args}), deadline=deadline)
            sent = True
            while True:
                parts = read_frame(self._from_child, deadline=deadline, max_bytes=max_bytes)
                if parts is None:
                    raise ProtocolError("closed")
                message = decode(parts, frames=False)
                if not isinstance(message, dict) or len(message) != 1:
                    raise ProtocolError("unexpected message")
                (kind, body), = message.items()
                if kind == "ok":
                    return body
                if kind == "error":
                    raise self._reported(task, body)
                if kind != "progress":
                    raise ProtocolError(f"unexpected message kind {kind[:20]!r}")
                updates += 1
                if updates > _MAX_PROGRESS:
                    raise ProtocolError("too many progress messages")
                if progress is not None:
                    progress(*_progress(body))
        except DeadlineExceeded:
            self.kill()
            limit = (("to start and load a model: AUDITAPP_SANDBOX_START_SECONDS", self.limits.start_seconds)
                     if task == "load" else ("of one call: AUDITAPP_SANDBOX_TIMEOUT", self.limits.timeout))
            raise ModelProcessFailed(LimitExceededError(
                f"The model {self.ref.name} took longer than the sandbox allows while {DOING.get(task, task)} "
                f"and was stopped (time limit {limit[0]}, {limit[1]:,} s). "
                "Use fewer rows, or ask the operator to raise the limit."), process_survives=False) from None
        except (ProtocolError, BrokenPipeError, ConnectionResetError) as exc:
            unanswered = not sent and isinstance(exc, BrokenPipeError)
            raise ModelProcessFailed(self._stopped(task, exc), process_survives=False,
                                     unanswered=unanswered) from None

    def _reported(self, task: str, body: Any) -> ModelProcessFailed:
        if not isinstance(body, dict):
            raise ProtocolError("malformed error")
        kind = str(body.get("kind", ""))
        message = _CONTROL.sub(" ", str(body.get("message", "")))[:2000]
        doing = DOING.get(task, task)
        if kind == "untrusted":
            return ModelProcessFailed(UntrustedModelError(message), process_survives=True)
        if kind == "limit":
            return ModelProcessFailed(LimitExceededError(message), process_survives=True)
        if kind == "input":
            return ModelProcessFailed(AuditInputError(message), process_survives=True)
        if kind == "memory":
            return ModelProcessFailed(LimitExceededError(
                f"The model {self.ref.name} needed more memory than the sandbox allows while {doing} (limit "
                f"{self.limits.memory_mb:,} MB, AUDITAPP_SANDBOX_MEMORY_MB) and was stopped; auditapp itself is "
                f"unaffected. Use fewer rows, or a model that needs less memory. ({message[:300]})"),
                process_survives=False)
        return ModelProcessFailed(AuditInputError(
            f"The model {self.ref.name} failed while {doing}: {message}"), process_survives=True)

    def _stopped(self, task: str, exc: BaseException) -> AuditInputError:
        """The error for a process that stopped answering (or sent something malformed)."""
        try:
            self.proc.wait(timeout=1.0)
            answering = False
        except subprocess.TimeoutExpired:
            answering = True
        self.kill()
        code = self.proc.poll()  # None only if it outlived SIGKILL (logged by kill)
        signum = None if code is None else -code if code < 0 else code - 128 if code > 128 else None
        tail = " | ".join(list(self._stderr)[-3:])
        log.warning("model process %s for %s stopped while %s (exit status %s, %s): %s", self.pid,
                    self.ref.name, task, code, type(exc).__name__, tail)
        doing = DOING.get(task, task)
        if signum == signal.SIGXCPU:
            return LimitExceededError(
                f"The model {self.ref.name} used up the sandbox's CPU-time limit "
                f"({self.limits.cpu_seconds:,} s, AUDITAPP_SANDBOX_CPU_SECONDS) while {doing} and was stopped.")
        if isinstance(exc, ProtocolError) and answering and str(exc) != "closed":
            return AuditInputError(f"The model process for {self.ref.name} sent a malformed answer while {doing} "
                                   "and was stopped. The model file may be hostile or corrupt.")
        return LimitExceededError(
            f"The model {self.ref.name} stopped without an answer while {doing} (exit status {code}). It may have "
            f"run out of the sandbox's memory ({self.limits.memory_mb:,} MB) or crashed on a malformed file; "
            "auditapp itself is unaffected. Use fewer rows or check the model file.")

    def kill(self) -> None:
        """End the process (and everything in its session) and reap it. A forked twin is ended alone."""
        if self.proc.poll() is None:
            if isinstance(self.proc, TwinProcess):
                self.proc.kill()
            else:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("model process %s did not end after SIGKILL", self.pid)
        for stream in (self._stdin, self._stdout):
            try:
                stream.close()
            except OSError:
                pass


class Pair:
    """Two model processes of one sandbox (:meth:`ModelProcess.spawn_pair`): one model for both."""

    def __init__(self) -> None:
        self.members: list[ModelProcess] = []
        self.key: Any = None  # the model both serve, once the first was given one

    def accepts(self, key: Any) -> bool:
        return self.key is None or self.key == key

    def holds_up(self, member: ModelProcess) -> bool:
        """Whether ending ``member`` would end a busy process of the pair (the first one's end ends the
        sandbox, so it waits for the second to be idle)."""
        return member is self.members[0] and any(m.busy and m.alive() for m in self.members[1:])


class TwinProcess:
    """The second process of a pair, forked inside the first one's sandbox: what :class:`ModelProcess`
    needs of a ``Popen`` (its pipes, ``poll``, ``wait``, ``returncode``), for a process that is not our child.

    It is found by the pid it states in its sandbox (``identify``, before any model has run there), among
    the processes of the sandbox, and held by a pidfd from then on (a reused pid is never signalled). Its exit
    status is read from ``/proc`` while the first process has not reaped it; otherwise it is reported as
    killed.
    """

    def __init__(self, group: subprocess.Popen[bytes], stdin: Any, stdout: Any, stderr: Any) -> None:
        self.group = group
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.pid = group.pid  # the sandbox's, until the twin has said who it is
        self.inner: int | None = None
        self.outer: int | None = None
        self._pidfd: int | None = None
        self.returncode: int | None = None

    def identify(self, inner: int) -> None:
        """Find the process whose pid in the sandbox is ``inner`` (a descendant of the sandbox's first)."""
        self.inner = inner
        for pid in _descendants(self.group.pid):
            if _nspid(pid) == inner:
                try:
                    self._pidfd = os.pidfd_open(pid)
                except OSError:
                    break
                if _nspid(pid) == inner:  # still the same process now that it is held
                    self.outer = self.pid = pid
                else:
                    os.close(self._pidfd)
                    self._pidfd = None
                break

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if self._pidfd is None:
            if self.group.poll() is not None:
                self.returncode = -signal.SIGKILL
            return self.returncode
        if not select.select([self._pidfd], [], [], 0)[0]:  # a pidfd reads ready once its process has ended
            return None
        self.returncode = _exit_status(self.outer) if self.outer is not None else -signal.SIGKILL
        os.close(self._pidfd)
        self._pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired("model process twin", timeout or 0)
            time.sleep(0.01)
        return code

    def kill(self) -> None:
        """SIGKILL the twin alone when it is known; otherwise (it never said who it is) its whole sandbox."""
        if self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        if self.outer is None:
            try:
                os.killpg(self.group.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.returncode = -signal.SIGKILL if self.returncode is None else self.returncode


def _descendants(root: int) -> list[int]:
    """Processes below ``root`` (breadth first), from ``/proc/PID/task/TID/children``."""
    found: list[int] = []
    queue = [root]
    while queue and len(found) < 10_000:
        pid = queue.pop(0)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                    children = [int(c) for c in handle.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(children)
            queue.extend(children)
    return found


def _nspid(pid: int) -> int | None:
    """The pid of ``pid`` in its innermost pid namespace (the ``NSpid`` line of its status)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def _exit_status(pid: int) -> int:
    """``Popen.returncode`` of an ended process not yet reaped (``/proc/PID/stat`` field 52); killed when
    it is gone already."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        status = int(fields[-1])  # exit_code, as waitpid reports it
    except (OSError, ValueError, IndexError):
        return -signal.SIGKILL
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _progress(body: Any) -> tuple[float, str]:
    if not isinstance(body, list) or len(body) != 2:
        raise ProtocolError("malformed progress")
    fraction, message = body
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ProtocolError("progress out of range")
    return float(fraction), _CONTROL.sub(" ", str(message))[:200]
