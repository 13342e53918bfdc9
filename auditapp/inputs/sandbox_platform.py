"""What this machine can do to isolate a model process, and the command that starts one.

With bubblewrap (``bwrap``) and user namespaces, a model process gets: no network (its own empty network
namespace), no view of the machine's files (a fresh root holding read-only binds of ``/usr``, the Python
installation, the virtual environment and auditapp's own package, plus a private ``/proc`` and a minimal
``/dev``), its own process, IPC and UTS namespaces, user ``nobody`` with no capabilities and no way to
create further namespaces, an empty environment except a few fixed variables, and death with its
parent. Without bubblewrap the fallback is what the platform allows: a network namespace if ``unshare``
works, the same resource limits and empty environment, but the machine's files stay readable. That
mode is *weak*: it is announced at start-up and model uploads are refused unless the operator opts in
with ``AUDITAPP_ALLOW_WEAK_SANDBOX=1``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The only environment a model process gets: no AUDITAPP_* setting, no secret, no proxy.
CHILD_ENV = {
    "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}
_PROBE_SECONDS = 60


@dataclass(frozen=True)
class SandboxMode:
    """How model processes are isolated on this machine.

    ``strong`` is True with bubblewrap; ``prefix`` is the command placed before the Python command line;
    ``summary`` says in one sentence what the isolation is, ``reason`` why it is weak (empty when strong).
    """

    strong: bool
    prefix: tuple[str, ...]
    summary: str
    reason: str = ""


def python_command(*, memory_mb: int, cpu_seconds: int, idle_seconds: int, preload: bool = False,
                   twin_fds: tuple[int, int, int] | None = None) -> list[str]:
    """The command line of the worker (``python -I -B -m auditapp.inputs.sandbox_worker``, its limits,
    ``--preload`` for a process that imports scikit-learn and skops before its model arrives, and ``--twin``
    with the descriptors of a second channel that a copy of it, forked after those imports, serves)."""
    return [sys.executable, "-I", "-B", "-m", "auditapp.inputs.sandbox_worker", "--memory-mb", str(int(memory_mb)),
            "--cpu-seconds", str(int(cpu_seconds)), "--idle-seconds", str(int(idle_seconds)),
            *(["--preload"] if preload else []),
            *(["--twin", ",".join(str(int(fd)) for fd in twin_fds)] if twin_fds else [])]


def read_only_paths() -> list[str]:
    """What a model process may read: ``/usr``, the Python installation, the virtual environment and the
    directory of auditapp's own package (not the project around it)."""
    import auditapp

    paths = ["/usr", sys.base_prefix, sys.prefix, str(Path(auditapp.__file__).resolve().parent),
             str(Path(os.path.realpath(sys.executable)).parent.parent)]
    unique: list[str] = []
    for path in (os.path.realpath(p) for p in paths):
        if os.path.isdir(path) and not any(path == u or path.startswith(u + os.sep) for u in unique):
            unique = [u for u in unique if not u.startswith(path + os.sep)] + [path]
    return unique


def bwrap_prefix(bwrap: str, *, disable_userns: bool = True) -> list[str]:
    """The bubblewrap arguments: every namespace unshared, a read-only view of ``read_only_paths``."""
    args = [bwrap, "--unshare-all", "--unshare-user"]
    if disable_userns:
        args.append("--disable-userns")
    args += ["--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
             "--clearenv"]
    for name, value in CHILD_ENV.items():
        args += ["--setenv", name, value]
    for path in read_only_paths():
        args += ["--ro-bind", path, path]
    for top in ("/bin", "/lib", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    # The root bubblewrap builds is a tmpfs: made read-only once everything is mounted on it.
    return [*args, "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/", "--chdir", "/"]


def _works(prefix: list[str]) -> tuple[bool, str]:
    # Python, a compiled extension of the virtual environment (NumPy) and auditapp's package load: what a
    # model process needs, at a third of the cost of importing the codec (pandas), on every start-up's path.
    command = [*prefix, sys.executable, "-I", "-B", "-c", "import numpy, auditapp.inputs.sandbox_platform"]
    try:
        done = subprocess.run(command, env=CHILD_ENV, cwd="/", capture_output=True, timeout=_PROBE_SECONDS,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return done.returncode == 0, (tail[-1] if tail else f"exit status {done.returncode}")[:300]


def _bubblewrap_mode(found: str, *, disable_userns: bool) -> SandboxMode:
    return SandboxMode(True, tuple(bwrap_prefix(found, disable_userns=disable_userns)),
                       "strong: bubblewrap with no network, a read-only view of the Python installation and "
                       "auditapp only, no environment, memory, CPU and time limits")


def first_choice(bwrap: str = "bwrap") -> SandboxMode | None:
    """The mode :func:`sandbox_mode` tries first (bubblewrap, nested user namespaces disabled), or None
    without bubblewrap: what a process started before the probe has answered may use, once the probe
    has confirmed it (``sandbox_mode(bwrap) == first_choice(bwrap)``)."""
    found = shutil.which(bwrap)
    return _bubblewrap_mode(found, disable_userns=True) if found else None


@functools.lru_cache(maxsize=8)
def sandbox_mode(bwrap: str = "bwrap") -> SandboxMode:
    """Probe (once per process and ``bwrap`` path) how model processes can be isolated here."""
    found = shutil.which(bwrap)
    reason = f"bubblewrap ({bwrap}) is not installed"
    if found:
        for disable in (True, False):
            ok, message = _works(bwrap_prefix(found, disable_userns=disable))
            if ok:
                return _bubblewrap_mode(found, disable_userns=disable)
        reason = f"bubblewrap could not start a sandbox ({message}); user namespaces may be disabled"
    unshare = shutil.which("unshare")
    if unshare and _works([unshare, "--net", "--"])[0]:
        return SandboxMode(False, (unshare, "--net", "--"),
                           "weak: no network and memory, CPU and time limits, but the model process can read "
                           "this machine's files", reason)
    return SandboxMode(False, (), "weak: memory, CPU and time limits and an empty environment only; the model "
                                  "process can read this machine's files and reach its network", reason)
