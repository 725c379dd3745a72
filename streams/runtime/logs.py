"""Logging of wirestream processes: a level and a format from the settings, one handler on stderr.

    WIRESTREAM_LOG_LEVEL   debug | info (default) | warning | error
    WIRESTREAM_LOG_FORMAT  text (default) | json

``text`` lines look like Faust's own (``[time] [pid] [LEVEL] message``); ``json`` is one object
per line — ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message``, ``fields`` (whatever was
passed as ``extra=``) and ``exc`` for an exception — ready for Loki, Elasticsearch or ``jq``.

The libraries (Faust, mode, aiokafka, aiohttp) log ~150 lines of start-up detail at info level
(every service starting, subscription and assignment tables): wirestream shows them only at
``debug``, where its own debug messages appear too; at ``info`` a worker logs its own one-line
summary instead (:func:`streams.runtime.app.startup_line`) and the libraries' warnings.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import IO, Any

import orjson

#: wirestream's own loggers (mode services defined in streams.* log under the module name: library detail)
OWN_LOGGERS = ("wirestream",)
TEXT_FORMAT = "[%(asctime)s] [%(process)s] [%(levelname)s] %(message)s"
# attributes every LogRecord has; anything else came from ``extra=`` and goes to "fields"
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _text_formatter(stream: IO[str]) -> logging.Formatter:
    """Faust's own (mode's) formatter: it renders the sets and mappings Faust logs (assigned
    partitions, recovery offsets) as the small tables operators know; colours only on a terminal."""
    try:
        from mode.utils.logging import ExtensionFormatter
    except ImportError:  # pragma: no cover - mode comes with faust-streaming
        return logging.Formatter(TEXT_FORMAT)
    return ExtensionFormatter(stream=stream, fmt=TEXT_FORMAT)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, fields (and exc)."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self._args = _text_formatter(stream)  # the same rendering of Faust's arguments

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(self._args, "_format_args"):
            self._args._format_args(record)
        fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage().strip(),
            "fields": fields,
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def setup_logging(level: str = "info", fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Configure the root logger (replacing its handlers) for ``level`` and ``fmt``."""
    own = getattr(logging, level.upper())
    # libraries: their info messages only at debug, and never their own debug flood
    libraries = logging.INFO if own <= logging.DEBUG else max(own, logging.WARNING)
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(stream) if fmt == "json" else _text_formatter(stream))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(libraries)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
