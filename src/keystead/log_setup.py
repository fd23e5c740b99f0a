"""Structured logs: one JSON object a line (or readable text on a terminal), every line with the
request id of the request being served.

The stdlib ``logging`` with a small formatter rather than structlog: every module already logs
through ``logging.getLogger``, uvicorn does too, pytest's ``caplog`` sees it, and the formatter
is the only piece structlog would have replaced. Fields beyond the message go in
``extra={"fields": {...}}``.

What is never logged: Authorization or Cookie headers, form or JSON bodies, query strings (a
code or a token can ride in one). Callers pass paths, ids and reasons, nothing else.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from keystead.config import LogFormat
from keystead.request_context import current

ROOT_LOGGER = "keystead"
ACCESS_LOGGER = "keystead.access"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    context = current()
    if context is not None:
        fields["request_id"] = context.request_id
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        fields.update(extra)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...fields, "traceback"}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname,
                                "logger": record.name, "message": record.getMessage()}
        line.update(_fields(record))
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``ts LEVEL logger message key=value ...`` and the traceback below, for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name} {record.getMessage()}"
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test's capture, a redirect)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def resolved_format(log_format: LogFormat, stream: TextIO | None = None) -> LogFormat:
    if log_format is not LogFormat.auto:
        return log_format
    target = stream if stream is not None else sys.stderr
    return LogFormat.text if target.isatty() else LogFormat.json


def formatter(log_format: LogFormat) -> logging.Formatter:
    return TextFormatter() if resolved_format(log_format) is LogFormat.text else JsonFormatter()


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Give the ``keystead`` loggers ``level`` and one stderr handler in ``log_format``.

    Idempotent (the app is built once per worker, and many times in tests): the handler this
    put there before is replaced. Records still propagate, so a root handler an operator (or
    pytest) adds sees them too; uvicorn configures no root handler, so nothing is doubled.
    """
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(level.upper())
    for handler in [h for h in logger.handlers if isinstance(h, StderrHandler)]:
        logger.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter(log_format))
    logger.addHandler(handler)


def uvicorn_log_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """uvicorn's own loggers in the same format; its access log stays off (ours replaces it:
    uvicorn's prints the query string, which can hold a code)."""
    chosen = resolved_format(log_format)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"keystead": {
            "()": TextFormatter if chosen is LogFormat.text else JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "keystead",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
