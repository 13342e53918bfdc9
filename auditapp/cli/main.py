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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of raising."""
    limit_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        # The operator's limits, read from the environment once, here; nothing below reads it again.
        configure(RuntimeLimits.from_environ(os.environ))
        return int(args.func(args))
    except AuditError as exc:
        print(f"auditapp {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"auditapp {args.command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
