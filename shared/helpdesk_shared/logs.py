"""Logging for every process: plain text for a terminal, or one JSON object a line for a collector.

``HELPDESK_LOG_FORMAT=json`` (``CommonSettings.log_format``) switches to JSON (``text`` is the
default, what ``make up`` shows); each JSON line carries the ``trace_id`` and ``span_id`` of the
span current where the record was made, so a log line leads to its trace. ``HELPDESK_LOG_LEVEL``
sets the level (INFO).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os

from opentelemetry import trace

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, service, trace and span ids, error."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "service": self._service}
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line.update(trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x"))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(service: str, fmt: str = "text", level: str = "INFO") -> None:
    """Configure the root logger: ``fmt`` text or json (``HELPDESK_LOG_FORMAT``), at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(os.environ.get("OTEL_SERVICE_NAME") or f"helpdesk-{service}")
                         if fmt == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx writes an INFO line per outgoing request (the SLA's commands, the portal's every read):
    # a debugging aid, not an operator's log, so it speaks from WARNING unless DEBUG is asked for.
    logging.getLogger("httpx").setLevel(logging.DEBUG if logging.getLogger().level <= logging.DEBUG else logging.WARNING)
