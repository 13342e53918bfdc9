"""The ``auditapp`` command line: ``serve``, ``audit``, ``demo``, ``explain``, ``mitigate``,
``simulate``, ``verify`` and the compliance packs (``ll144``, ``adverse-impact``, ``fair-lending``,
``infer-race``, ``keygen``).

Each sub-command lives in ``auditapp/cli/commands/<name>.py`` and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a function ``(args) -> int`` returning the exit status.
Exit statuses: 0 success (or policy pass), 1 policy fail, 2 bad input, 3 inconclusive.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from auditapp.core.errors import AuditError
from auditapp.core.exit_codes import EXIT_BAD_INPUT
from auditapp.core.limits import RuntimeLimits, configure
from auditapp.core.runtime import limit_threads

COMMANDS = ("serve", "audit", "demo", "explain", "mitigate", "simulate", "verify",
            "ll144", "adverse-impact", "fair-lending", "infer-race", "keygen")


LONG_RUNNING = frozenset({"serve"})
_ran: dict[str, str | None] = {"command": None}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit with the bad-input status (2), as argparse does."""


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = _Parser(prog="auditapp", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        module_name = f"auditapp.cli.commands.{name.replace('-', '_')}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def prestart_model_processes(args: argparse.Namespace) -> bool:
    """Start the sandboxed model processes a command with ``--model`` will use, before it imports and reads
    anything: their start-up (~1 s: the interpreter, scikit-learn, skops) then overlaps the command's own.

    A command that works side by side says how many it needs (``args.model_processes(args)``, e.g. mitigate
    with ``--jobs 2``); others use one. A file that cannot be read, or the Spark engine (its executors run the
    model), starts none: the command's own load then says what is wrong, as it would have. Returns whether
    any were asked for (those the command leaves unused are ended when it returns).
    """
    path = getattr(args, "model", None)
    if not path or getattr(args, "engine", None) == "spark":
        return False
    try:
        with open(path, "rb") as file:
            head = file.read(4)
    except OSError:
        return False
    from auditapp.inputs.sandbox import default_pool

    count = getattr(args, "model_processes", None)
    onnx = str(path).lower().endswith(".onnx") or head[:1] == b"\x08"
    default_pool().prestart(count(args) if callable(count) else 1, preload=not onnx)
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of raising."""
    limit_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    _ran["command"] = args.command
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        # The operator's limits, read from the environment once, here; nothing below reads it again.
        configure(RuntimeLimits.from_environ(os.environ))
        prestarted = prestart_model_processes(args)
        try:
            return int(args.func(args))
        finally:
            if prestarted:
                from auditapp.inputs.sandbox import default_pool

                default_pool().end_spares()  # those the command did not use (it stopped early)
    except AuditError as exc:
        print(f"auditapp {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"auditapp {args.command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_BAD_INPUT


def console() -> None:
    """The ``auditapp`` program: :func:`main`, then the process ends without tearing the interpreter down.

    Everything a command produces is written, flushed and closed before :func:`main` returns (files are
    written whole, then renamed into place), and its model processes end with it (bubblewrap's
    ``--die-with-parent``, ``PR_SET_PDEATHSIG``): the teardown (freeing every module and array, ~0.05 s
    after a mitigation comparison) has nothing left to do for the user. An exception that escapes
    :func:`main` (Ctrl-C) still exits the usual way, and so does ``serve``.
    """
    status = main()
    if _ran["command"] in LONG_RUNNING:  # a server's own shutdown (its workers, its stores) is left to run
        sys.exit(status)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    console()
