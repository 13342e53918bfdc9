"""The exit statuses of the command line, defined once (the CLI, the gate and the library share them)."""

from __future__ import annotations

EXIT_PASS = 0  # the policy passes (or a command without a verdict succeeded)
EXIT_FAIL = 1  # a required criterion fails
EXIT_BAD_INPUT = 2  # the input cannot be audited; the message says which file, column or value
EXIT_INCONCLUSIVE = 3  # the data cannot tell: an interval crosses a required bound
EXIT_CODES = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "inconclusive": EXIT_INCONCLUSIVE}
