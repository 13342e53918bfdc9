"""Untrusted model files are loaded and run in sandboxed processes, never in auditapp's own.

A :class:`ModelRef` names a model file (its bytes or path, its sha256, format and display name). The
process-wide :class:`SandboxPool` (``default_pool()``) keeps one worker process per model while it is in
use, so the slider and page views do not pay the start-up again: at most ``max_children`` processes,
each ended after ``idle_seconds`` without work. A call sends a task and its arguments to a process bound
to that model and waits for the answer, at most ``timeout`` seconds of wall-clock time: then the process
is killed. Answers are parsed (JSON and NumPy arrays, :mod:`auditapp.inputs.sandbox_codec`), never unpickled.

How the process is isolated (bubblewrap, or the weak fallback) is :mod:`auditapp.inputs.sandbox_platform`; its
limits (memory, CPU seconds) are set by the process itself before it reads the model
(:mod:`auditapp.inputs.sandbox_worker`). Every limit is an environment variable, read at start-up with the
others (:class:`auditapp.core.limits.RuntimeLimits`) and taken by :meth:`SandboxLimits.configured`:

| variable | default | bounds |
| --- | --- | --- |
| ``AUDITAPP_SANDBOX_MEMORY_MB`` | 4096 | address space of one model process (``RLIMIT_AS``) |
| ``AUDITAPP_SANDBOX_CPU_SECONDS`` | 3600 | CPU time of one model process over its life (``RLIMIT_CPU``) |
| ``AUDITAPP_SANDBOX_TIMEOUT`` | 600 | wall-clock seconds of one call (then the process is killed) |
| ``AUDITAPP_SANDBOX_START_SECONDS`` | 120 | wall-clock seconds to start a model process and load its model |
| ``AUDITAPP_SANDBOX_IDLE_SECONDS`` | 300 | how long an unused model process is kept |
| ``AUDITAPP_SANDBOX_PROCESSES`` | 4 | model processes per auditapp process |
| ``AUDITAPP_SANDBOX_REPLY_MB`` | 1024 | one answer from a model process |
| ``AUDITAPP_ALLOW_WEAK_SANDBOX`` | off | accept model files when bubblewrap cannot run (weak isolation) |
| ``AUDITAPP_SANDBOX_BWRAP`` | bwrap | the bubblewrap executable |
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditapp.core.errors import AuditInputError, UntrustedModelError
from auditapp.core.limits import RuntimeLimits, runtime
from auditapp.inputs.sandbox_platform import SandboxMode, first_choice, sandbox_mode

log = logging.getLogger("auditapp.inputs.sandbox")
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SandboxLimits:
    """The limits of model processes (see the module docstring for the variables)."""

    memory_mb: int = RuntimeLimits.sandbox_memory_mb  # every default has one home: RuntimeLimits
    cpu_seconds: int = RuntimeLimits.sandbox_cpu_seconds
    timeout: int = RuntimeLimits.sandbox_timeout
    start_seconds: int = RuntimeLimits.sandbox_start_seconds
    idle_seconds: int = RuntimeLimits.sandbox_idle_seconds
    max_children: int = RuntimeLimits.sandbox_processes
    reply_mb: int = RuntimeLimits.sandbox_reply_mb
    allow_weak: bool = RuntimeLimits.allow_weak_sandbox
    bwrap: str = RuntimeLimits.sandbox_bwrap

    @classmethod
    def configured(cls) -> SandboxLimits:
        """This process's sandbox limits (the ``AUDITAPP_SANDBOX_*`` variables and
        ``AUDITAPP_ALLOW_WEAK_SANDBOX``, read at start-up: :func:`auditapp.core.limits.runtime`)."""
        limits = runtime()
        return cls(memory_mb=limits.sandbox_memory_mb, cpu_seconds=limits.sandbox_cpu_seconds,
                   timeout=limits.sandbox_timeout, start_seconds=limits.sandbox_start_seconds,
                   idle_seconds=limits.sandbox_idle_seconds, max_children=limits.sandbox_processes,
                   reply_mb=limits.sandbox_reply_mb, allow_weak=limits.allow_weak_sandbox, bwrap=limits.sandbox_bwrap)


def current_mode(limits: SandboxLimits | None = None) -> SandboxMode:
    """How model processes are isolated here (probed once per process)."""
    return sandbox_mode((limits or SandboxLimits.configured()).bwrap)


def startup_note(limits: SandboxLimits | None = None) -> str | None:
    """What to tell the operator and users at start-up: None when the sandbox is strong."""
    limits = limits or SandboxLimits.configured()
    mode = current_mode(limits)
    if mode.strong:
        return None
    if limits.allow_weak:
        return (f"Model files run with weak isolation on this server ({mode.summary}; {mode.reason}). The "
                "operator accepted this with AUDITAPP_ALLOW_WEAK_SANDBOX=1: upload only models you trust.")
    return (f"This server cannot sandbox model files ({mode.reason}), so it refuses model uploads: give "
            "predictions or scores as dataset columns instead. The operator can install bubblewrap, or accept "
            "weak isolation with AUDITAPP_ALLOW_WEAK_SANDBOX=1.")


def announce() -> str:
    """Log (and return) how model files are isolated on this server; a warning when weakly or not at all."""
    note = startup_note()
    if note:
        log.warning("%s", note)
        return note
    summary = f"Model files run in a sandbox: {current_mode().summary}."
    log.info("%s", summary)
    return summary


def require_sandbox(name: str, limits: SandboxLimits | None = None) -> None:
    """Raise :class:`UntrustedModelError` when model files cannot be isolated and weak mode is not allowed."""
    limits = limits or SandboxLimits.configured()
    mode = current_mode(limits)
    if not mode.strong and not limits.allow_weak:
        raise UntrustedModelError(
            f"{name} was not opened: this server cannot isolate model files ({mode.reason}). Give the model's "
            "predictions or scores as dataset columns instead, or ask the operator to install bubblewrap "
            "(or to accept weaker isolation with AUDITAPP_ALLOW_WEAK_SANDBOX=1).")


@dataclass(frozen=True)
class ModelRef:
    """A model file to run in a sandbox: where its bytes are, what they hash to, how to open them.

    ``scope`` keeps processes apart: a model process only ever serves callers with the same scope (the
    app passes a digest of the browser session), so one session's data never reaches a process that
    another session's requests can read from.
    """

    sha256: str
    name: str
    format: str
    trust_pickle: bool = False
    path: str | None = None
    data: bytes | None = field(default=None, repr=False)
    scope: str = ""

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.sha256, self.format, self.trust_pickle and self.format == "pickle", self.scope)

    def read(self) -> bytes:
        """The model's bytes, checked against its sha256.

        Raises
        ------
        AuditInputError
            If the file is gone or changed since it was checked.
        """
        if self.data is not None:
            return self.data
        if self.path is None:
            raise AuditInputError(f"The model file {self.name} is no longer available here. Upload it again.")
        try:
            data = Path(self.path).read_bytes()
        except (OSError, TypeError) as exc:
            raise AuditInputError(f"The model file {self.name} is no longer available here. Upload it again.") \
                from exc
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise AuditInputError(f"The model file {self.name} changed since it was checked. Upload it again.")
        return data


class Kept:
    """An argument a model process keeps after it was sent (the last one only): a mitigation comparison's
    split, which every candidate of the comparison trains on.

    ``SandboxPool.call`` sends ``name`` = ``build()`` (built once) only to a process whose last kept
    argument is not ``key``; the task still answers when it no longer has it, and the caller then sends it.
    """

    def __init__(self, name: str, key: str, build: Callable[[], Any]) -> None:
        self.name, self.key, self._build = name, key, build
        self._value: Any = None
        self._built = False

    def value(self) -> Any:
        if not self._built:
            self._value, self._built = self._build(), True
        return self._value


class SandboxPool:
    """Model processes of this auditapp process, at most ``limits.max_children``, reused per model."""

    def __init__(self, limits: SandboxLimits | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.limits = limits or SandboxLimits.configured()
        self._children: list[Any] = []
        self._starting = 0
        self._warming: dict[tuple[Any, ...], int] = {}  # processes being started ahead (warm_up), by model
        self._spares: list[Any] = []  # processes started before their model was known (prestart)
        self._cond = threading.Condition()
        # Processes are started from one long-lived thread: a sandbox dies with the thread that started it
        # (PR_SET_PDEATHSIG), and request threads of a development server end after each request.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditapp-sandbox-start")

    def call(self, ref: ModelRef, task: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             progress: Progress | None = None, kept: Kept | None = None) -> Any:
        """Run ``task`` on the model ``ref`` in a sandboxed process and return its decoded answer.

        ``task`` ``"describe"`` returns what the process said when it loaded the model. With ``kept``, an
        argument the process keeps once sent (:class:`Kept`) is built and sent only to a process that was
        not the last one sent it.

        Raises
        ------
        UntrustedModelError, LimitExceededError, AuditInputError
            As the process reports (allow-list, trust, a bad file or input), or when it runs out of time,
            memory or CPU time, or stops without an answer.
        """
        from auditapp.inputs.sandbox_process import ModelProcessFailed

        deadline = time.monotonic() + (timeout if timeout is not None else self.limits.timeout)
        for attempt in (1, 2):
            child = self._acquire(ref, deadline)
            child.uses += 1
            fresh = child.uses == 1
            healthy = False
            try:
                if task == "describe":
                    healthy = True
                    return dict(child.info)
                sent = dict(args or {})
                if kept is not None and child.kept != kept.key:
                    sent[kept.name] = kept.value()
                value = child.request(task, sent, deadline=deadline, progress=progress)
                if kept is not None and kept.name in sent:
                    child.kept = kept.key
                healthy = True
                return value
            except ModelProcessFailed as failed:
                healthy = failed.process_survives
                # A kept process that had ended while idle (killed, or its idle time ran out) never saw
                # the request: start a fresh one, once.
                if attempt == 1 and failed.unanswered and not fresh:
                    continue
                raise failed.error from None
            finally:
                self._release(child, healthy)

    def warm_up(self, ref: ModelRef, processes: int) -> None:
        """Start model processes for ``ref`` in the background until it has ``processes`` (best effort).

        For work that is about to run side by side on one model (a mitigation comparison's two slots):
        the start-up (bubblewrap, imports, loading the model) then overlaps the caller's own work. Never
        exceeds ``max_children``; a process that fails to start is logged and left to the next call.
        """
        with self._cond:
            self._drop_stale()
            have = sum(1 for c in self._children if c.key == ref.key) + self._warming.get(ref.key, 0)
            wanted = min(int(processes) - have, self.limits.max_children - len(self._children) - self._starting)
            if wanted <= 0:
                return
            self._starting += wanted
            self._warming[ref.key] = self._warming.get(ref.key, 0) + wanted
        for _ in range(wanted):
            threading.Thread(target=self._start_idle, args=(ref,), daemon=True,
                             name="auditapp-sandbox-warm-up").start()

    def prestart(self, processes: int, *, preload: bool) -> None:
        """Start up to ``processes`` model processes now, before the model is known; returns at once.

        The command line calls this first thing, so that the processes' start-up (bubblewrap, the
        interpreter and, with ``preload``, scikit-learn and skops) overlaps the command's own imports and
        reading of the data. Each such process is given to the next model started here (:meth:`_start`) and
        then serves that one model only, exactly as a process started for it would. With bubblewrap and
        ``preload`` they start two to a sandbox, the second forked from the first after its imports (they
        are then paid once; :meth:`ModelProcess.spawn_pair`), and both serve the model the first of the two
        is given. Within ``max_children``; none when model files cannot be sandboxed here (the load that
        follows says why).
        """
        self._spawner.submit(self._prestart, int(processes), bool(preload))

    def _prestart(self, processes: int, preload: bool) -> None:
        with self._cond:
            room = self.limits.max_children - len(self._children) - max(self._starting, len(self._spares))
            wanted = min(processes - len(self._spares), room)
        if wanted <= 0:
            return
        # Before this process has probed how to sandbox (~0.1 s), the processes start in the mode the probe
        # tries first; they are kept only if the probe then chooses that same mode. No model is sent to a
        # process before it is given one (_spare_or_spawn), which needs the probe's answer.
        probed = sandbox_mode.cache_info().currsize > 0
        guess = None if probed else first_choice(self.limits.bwrap)
        started = self._spawn_spares(guess, wanted, preload) if guess is not None else []
        mode = current_mode(self.limits)
        if guess is not None and mode != guess:
            for spare in started:
                spare.kill()
            started = []
        if not mode.strong and not self.limits.allow_weak:
            return
        if not started:
            started = self._spawn_spares(mode, wanted, preload)
        with self._cond:
            self._spares.extend(started)

    def _spawn_spares(self, mode: SandboxMode, count: int, preload: bool) -> list[Any]:
        """``count`` processes started ahead; with bubblewrap and ``preload``, two at a time in one sandbox
        (:meth:`ModelProcess.spawn_pair`: the imports are done once), bound to the first model either is given."""
        from auditapp.inputs.sandbox_process import ModelProcess

        started: list[Any] = []
        while len(started) < count:
            try:
                if preload and mode.strong and count - len(started) >= 2:
                    started.extend(ModelProcess.spawn_pair(mode, self.limits))
                else:
                    started.append(ModelProcess.spawn(None, mode, self.limits, preload=preload))
            except OSError as exc:  # a start ahead only; the load that follows reports the problem
                log.info("model process not started ahead: %s", exc)
                break
        return started

    def end_spares(self) -> None:
        """End the processes started ahead that no model was given (after any prestart still starting)."""
        self._spawner.submit(self._end_spares).result()

    def _end_spares(self) -> None:
        with self._cond:
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.kill()

    def _spare_or_spawn(self, ref: ModelRef, mode: SandboxMode) -> Any:
        """A process started ahead (prestart) given to ``ref``, else a new one. Runs in the starter thread,
        after every prestart asked for before it."""
        from auditapp.inputs.sandbox_process import ModelProcess

        while True:
            with self._cond:
                # a process of a pair serves the model its pair was given, or none yet (one sandbox, one model);
                # another model's spare is left to end with the others (end_spares) or when idle
                spare = next((c for c in self._spares if c.pair is None or c.pair.accepts(ref.key)), None)
                if spare is not None:
                    self._spares.remove(spare)
                    if spare.pair is not None:
                        spare.pair.key = ref.key
            if spare is None:
                return ModelProcess.spawn(ref, mode, self.limits)
            if spare.alive():
                spare.assign(ref)
                return spare
            spare.kill()

    def _start_idle(self, ref: ModelRef) -> None:
        try:
            child = self._start(ref)
        except BaseException as exc:  # noqa: BLE001 - a warm-up only; the next call reports the problem
            log.info("model process for %s not started ahead: %s", ref.name, exc)
            with self._cond:
                self._starting -= 1
                self._warming[ref.key] -= 1
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            self._warming[ref.key] -= 1
            child.last_used = time.monotonic()
            self._children.append(child)
            self._cond.notify_all()

    def _acquire(self, ref: ModelRef, deadline: float) -> Any:
        with self._cond:
            while True:
                self._drop_stale()
                ready = [c for c in self._children if c.key == ref.key and not c.busy]
                if ready:
                    child = max(ready, key=lambda c: c.last_used)
                    child.busy = True
                    return child
                if self._warming.get(ref.key) and time.monotonic() < deadline:
                    # a process for this model is being started ahead (warm_up): wait for it
                    self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
                    continue
                if len(self._children) + self._starting < self.limits.max_children:
                    self._starting += 1
                    break
                idle = [c for c in self._children if not c.busy and not (c.pair and c.pair.holds_up(c))]
                if idle:
                    self._remove(min(idle, key=lambda c: c.last_used))
                    continue
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    from auditapp.core.errors import LimitExceededError

                    raise LimitExceededError(
                        f"Every model process of this server is busy (at most {self.limits.max_children}); "
                        f"{ref.name} could not start in time. Try again in a minute.")
        try:
            child = self._start(ref)
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            self._starting -= 1
            child.busy = True
            self._children.append(child)
        return child

    def _start(self, ref: ModelRef) -> Any:
        from auditapp.inputs.sandbox_process import ModelProcessFailed

        mode = current_mode(self.limits)
        data = ref.read()
        process = self._spawner.submit(self._spare_or_spawn, ref, mode).result()
        try:
            process.load(data, deadline=time.monotonic() + self.limits.start_seconds)
        except ModelProcessFailed as failed:
            process.kill()
            raise failed.error from None
        except BaseException:
            process.kill()
            raise
        return process

    def _release(self, child: Any, healthy: bool) -> None:
        with self._cond:
            child.busy = False
            child.last_used = time.monotonic()
            if not healthy and child in self._children:
                self._remove(child)
            self._cond.notify_all()

    def _drop_stale(self) -> None:
        now = time.monotonic()
        for spare in [c for c in self._spares if not c.alive()]:
            self._spares.remove(spare)
            spare.kill()
        for child in list(self._children):
            if not child.busy and (not child.alive() or now - child.last_used > self.limits.idle_seconds) \
                    and not (child.alive() and child.pair and child.pair.holds_up(child)):
                self._remove(child)

    def _remove(self, child: Any) -> None:
        self._children.remove(child)
        child.kill()

    def close(self) -> None:
        """End every model process of this pool."""
        with self._cond:
            for child in list(self._children):
                self._remove(child)
            while self._spares:
                self._spares.pop().kill()

    def available(self, ref: ModelRef) -> int:
        """How many of ``ref``'s model processes are waiting for work now or being started for it (a call
        waits for one being started, or takes the first one that is free again, whichever comes first)."""
        with self._cond:
            self._drop_stale()
            idle = sum(1 for c in self._children if c.key == ref.key and not c.busy)
            return idle + self._warming.get(ref.key, 0)

    def processes(self) -> list[int]:
        """Process ids of the pool's model processes (for tests and diagnostics)."""
        with self._cond:
            return [c.pid for c in [*self._children, *self._spares]]


@functools.lru_cache(maxsize=2)
def _pool_of(pid: int) -> SandboxPool:
    return SandboxPool()


def default_pool() -> SandboxPool:
    """This process's pool (a forked process gets its own: it never uses its parent's processes)."""
    return _pool_of(os.getpid())


def reset_default_pool() -> None:
    """End this process's model processes; the next call starts a pool with the limits then in effect."""
    if _pool_of.cache_info().currsize:
        default_pool().close()
    _pool_of.cache_clear()
