"""Checking a sentence for its facts (numbers, names, direction), in order, rather than word for word."""

from __future__ import annotations


def says(text: str, *facts: str) -> str:
    """Assert ``text`` states each of ``facts`` (substrings), in this order; return ``text``.

    A rewording that keeps every fact passes; a wrong number, group, direction or order fails and the
    message shows the first fact missing and the sentence.
    """
    at = 0
    for fact in facts:
        found = text.find(fact, at)
        assert found >= 0, f"{fact!r} is not said (after position {at}) in: {text!r}"
        at = found + len(fact)
    return text
