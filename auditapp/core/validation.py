"""One place that checks what a user typed or passed in (in the spirit of ``sklearn.utils.validation``).

Every form, the policy editor, the simulation controls and the library API read numbers through
:func:`parse_number`, so the same text means the same thing everywhere: a number is written with a
dot (``0.8``), never with a decimal comma (``0,8`` could as well be a thousands separator, so it is
refused with the fix rather than guessed), and ``nan``/``inf``/``True`` are not numbers.
:func:`check_model` turns whatever a caller hands over as a model into an ``AuditModel``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from auditapp.core.errors import AuditInputError

__all__ = ["check_model", "parse_number", "plain"]


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (anything else unchanged), for messages and JSON.

    >>> plain(np.int64(2)), plain("yes"), plain(np.str_("no"))
    (2, 'yes', 'no')
    """
    return value.item() if isinstance(value, np.generic) else value


def parse_number(value: Any, what: str, *, integer: bool = False, default: float | int | None = None,
                 minimum: float | None = None, maximum: float | None = None) -> Any:
    """Read ``value`` (a number or the text a user typed) as a finite number.

    Parameters
    ----------
    value : object
        A number, or text such as ``"0.8"``; None or blank text gives ``default``.
    what : str
        How the message names the field, e.g. ``"The threshold"`` or ``"Row 2: 'at_most'"``.
    integer : bool
        Require a whole number and return an ``int``.
    default : number, optional
        What an empty value means (None: the field is optional). A typed 0 is 0, never the default.
    minimum, maximum : float, optional
        Inclusive bounds.

    Returns
    -------
    float or int or None

    Raises
    ------
    AuditInputError
        If the value is not a finite number (``"abc"``, ``"nan"``, ``"inf"``, ``True``), is written with a
        decimal comma, is not whole where a whole number is needed, or lies outside the bounds.

    Examples
    --------
    >>> parse_number(" 0.8 ", "The threshold")
    0.8
    >>> parse_number("", "The minimum group size", integer=True, default=30)
    30
    >>> parse_number("0", "The minimum group size", integer=True, default=30)
    0
    >>> parse_number("0,8", "The threshold")
    Traceback (most recent call last):
    ...
    auditapp.core.errors.AuditInputError: The threshold must be a number written with a dot, got '0,8'. Type 0.8.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    shown = str(value).strip() if isinstance(value, str) else repr(plain(value))
    kind = "a whole number" if integer else "a number"
    if isinstance(value, str) and "," in value:
        guess = value.strip().replace(",", ".")
        raise AuditInputError(f"{what} must be {kind} written with a dot, got {shown!r}. Type {guess}.")
    number = math.nan
    if not isinstance(value, (bool, np.bool_)):
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            number = math.nan
    example = "30" if integer else "0.8"
    if not math.isfinite(number):
        raise AuditInputError(f"{what} must be {kind}, got {shown!r}. Type e.g. {example}.")
    if integer and not number.is_integer():
        raise AuditInputError(f"{what} must be a whole number, got {shown!r}. Type e.g. {example}.")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "-inf" if minimum is None else f"{minimum:g}"
        high = "inf" if maximum is None else f"{maximum:g}"
        raise AuditInputError(f"{what} must be between {low} and {high}, got {number:g}.")
    return int(number) if integer else number


def check_model(model: Any, *, name: str | None = None) -> Any:
    """Return ``model`` as an :class:`~auditapp.inputs.models.AuditModel`.

    An ``AuditModel`` is returned as it is; a fitted scikit-learn classifier or pipeline (fitted on a
    DataFrame) is wrapped in-process; None stays None.

    Raises
    ------
    AuditInputError
        If ``model`` is not a fitted classifier that records its training columns.
    """
    from auditapp.inputs.models import AuditModel, from_estimator

    if model is None or isinstance(model, AuditModel):
        return model
    return from_estimator(model, name=name or f"the {type(model).__name__} passed in")
