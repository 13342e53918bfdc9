"""Warnings raised while a candidate is fitted, kept for the user instead of the server log.

fairlearn reports some problems as Python warnings and others through ``logging`` (GridSearch's "It is
recommended to use at least 128 grid points" is a log record); scikit-learn warns about convergence.
:class:`captured_warnings` records both while a candidate fits, so its result (and the JSON record and
the Mitigation page) can show them next to the numbers.
"""

from __future__ import annotations

import logging
import warnings

LOGGERS = ("fairlearn", "sklearn")
MAX_MESSAGES = 10
MAX_LENGTH = 400


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class captured_warnings:
    """Record warnings (Python ``warnings`` and fairlearn/scikit-learn log records at WARNING or above).

    After the block, ``messages`` holds each distinct message once, in order, at most ten, each at most
    400 characters. pandas' deprecation warnings raised inside fairlearn's own code are left out (they
    say nothing about the fit and the user cannot act on them).
    """

    def __enter__(self) -> captured_warnings:
        from pandas.errors import Pandas4Warning

        self.messages: list[str] = []
        self._catch = warnings.catch_warnings(record=True)
        self._records = self._catch.__enter__()
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"fairlearn\.")
        self._recorder = _Recorder()
        self._loggers = [logging.getLogger(name) for name in LOGGERS]
        for logger in self._loggers:
            logger.addHandler(self._recorder)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for logger in self._loggers:
            logger.removeHandler(self._recorder)
        self._catch.__exit__(*exc_info)  # type: ignore[arg-type]  # the exception triple, passed on as received
        found = [f"{item.category.__name__}: {item.message}" for item in self._records]
        found += [f"{record.name.split('.')[0]}: {record.getMessage()}" for record in self._recorder.records]
        for message in dict.fromkeys(" ".join(m.split()) for m in found):
            if len(self.messages) == MAX_MESSAGES:
                break
            self.messages.append(message if len(message) <= MAX_LENGTH else message[:MAX_LENGTH - 1] + "…")
