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
import time
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


_second: list[Any] = [-1, ""]  # the last whole second formatted, and its text


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the second's text is kept (datetime took ~2 µs a line)."""
    whole = int(created)
    if whole != _second[0]:
        _second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


def _json_line(created: float, level: str, logger: str, message: str,
               fields: dict[str, Any], traceback: str | None) -> str:
    """``{"ts", "level", "logger", "message", "request_id", ...fields, "traceback"}``."""
    line: dict[str, Any] = {"ts": _timestamp(created), "level": level, "logger": logger,
                            "message": message}
    line.update(fields)
    if traceback:
        line["traceback"] = traceback
    return orjson.dumps(line, default=str).decode()


def _text_line(created: float, level: str, logger: str, message: str,
               fields: dict[str, Any], traceback: str | None) -> str:
    """``ts LEVEL logger message key=value ...`` and the traceback below, for a terminal."""
    text = f"{_timestamp(created)} {level:<7} {logger} {message}"
    if fields:
        text += " " + " ".join(f"{key}={value}" for key, value in fields.items())
    if traceback:
        text += "\n" + traceback
    return text


class LineFormatter(logging.Formatter):
    """One JSON object a line, or readable text; can also build a line without a LogRecord
    (see ``log_access``)."""

    def __init__(self, *, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def line(self, created: float, level: str, logger: str, message: str,
             fields: dict[str, Any], traceback: str | None = None) -> str:
        build = _json_line if self.as_json else _text_line
        return build(created, level, logger, message, fields, traceback)

    def format(self, record: logging.LogRecord) -> str:
        return self.line(record.created, record.levelname, record.name, record.getMessage(),
                         _fields(record),
                         self.formatException(record.exc_info) if record.exc_info else None)


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


_access = logging.getLogger(ACCESS_LOGGER)
_keystead = logging.getLogger(ROOT_LOGGER)
_root = logging.getLogger()


# Paths whose last segment is a one-time secret (an invitation link): logged without it.
ONE_TIME_PATHS = ("/admin/invite/",)


def shown_path(path: str) -> str:
    """``path`` as log lines may show it: a one-time link's token replaced by ``…``."""
    for prefix in ONE_TIME_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def log_access(message: str, fields: dict[str, Any]) -> None:
    """Write an access line at INFO (the caller checked ``isEnabledFor(INFO)``).

    When this module's stderr handler is the only one that would see it (as under ``keystead
    serve``), the line is formatted and written straight away: ~3 µs, where a LogRecord and the
    handler chain take ~15 (bench/request_ids.py). Otherwise (an operator's handlers, pytest's
    caplog) the record goes through ``logging`` as any other.
    """
    handlers = _keystead.handlers
    if (len(handlers) == 1 and not _root.handlers and not _access.handlers
            and not _access.filters and not _keystead.filters and not _access.disabled):
        handler = handlers[0]
        formatter = handler.formatter
        if (isinstance(handler, StderrHandler) and isinstance(formatter, LineFormatter)
                and not handler.filters and handler.level <= logging.INFO):
            context = current()
            if context is not None:
                fields = {"request_id": context.request_id, **fields}
            line = formatter.line(time.time(), "INFO", ACCESS_LOGGER, message, fields)
            with handler.lock:  # type: ignore[union-attr]
                stream = sys.stderr
                stream.write(line + "\n")
                stream.flush()
            return
    _access.handle(_access.makeRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, message, (),
                                      None, extra={"fields": fields}))


def resolved_format(log_format: LogFormat, stream: TextIO | None = None) -> LogFormat:
    if log_format is not LogFormat.auto:
        return log_format
    target = stream if stream is not None else sys.stderr
    return LogFormat.text if target.isatty() else LogFormat.json


def formatter(log_format: LogFormat) -> LineFormatter:
    return LineFormatter(as_json=resolved_format(log_format) is LogFormat.json)


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
        "formatters": {"keystead": {"()": LineFormatter,
                                    "as_json": chosen is LogFormat.json}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "keystead",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
