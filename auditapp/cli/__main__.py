"""``python -m auditapp.cli``."""

from auditapp.cli.main import console

console()
