"""Exceptions a user can act on.

Every message is shown word for word, so it says what is wrong, what was found and what to do.
Anything that is not an ``AuditError`` is a bug and should surface as one.
"""


class AuditError(Exception):
    """Base class of every error auditapp raises on purpose."""


class AuditInputError(AuditError, ValueError):
    """The user's data, model, settings or file is wrong in a way the user can fix."""


class LimitExceededError(AuditInputError):
    """An upload or dataset is larger than the configured limits allow."""


class UntrustedModelError(AuditInputError):
    """A model file would run code or load types that are not on the allow-list."""
