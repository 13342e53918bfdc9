"""Interface: the ``auditapp`` command and its sub-commands."""
