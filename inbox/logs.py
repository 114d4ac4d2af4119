"""Structured logs: one JSON object a line. Patient text never goes in a log message at INFO."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    """Format a record as JSON with time, level, logger and message (and the exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)  # `extra={"fields": {...}}`: more keys
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class AccessLineWithoutQuery(logging.Filter):
    """uvicorn's access lines without the query string (it may carry addresses or tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].partition("?")[0], *args[3:])
        return True


def log_config(level: str) -> dict[str, Any]:
    """One logging set-up (a `logging.config.dictConfig` dict) for the commands and for uvicorn,
    its web processes included: JSON lines on stderr, library chatter at WARNING."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"no_query": {"()": AccessLineWithoutQuery}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json"},
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["no_query"],
            },
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "alembic": {"level": "WARNING"},
        },
    }


def configure_logging(level: str) -> None:
    """Send JSON lines to stderr (see `log_config`)."""
    logging.config.dictConfig(log_config(level))
