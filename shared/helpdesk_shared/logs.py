"""Logging for every process: plain text for a terminal, or one JSON object a line for a collector.

``HELPDESK_LOG_FORMAT=json`` switches to JSON (``text`` is the default, what ``make up`` shows);
each JSON line carries the ``trace_id`` and ``span_id`` of the span current where the record was
made, so a log line leads to its trace. ``HELPDESK_LOG_LEVEL`` sets the level (INFO).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping

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


def setup_logging(service: str, environ: Mapping[str, str] | None = None) -> None:
    """Configure the root logger as ``HELPDESK_LOG_FORMAT`` and ``HELPDESK_LOG_LEVEL`` ask."""
    env = os.environ if environ is None else environ
    fmt = env.get("HELPDESK_LOG_FORMAT", "text").lower()
    if fmt not in ("text", "json"):
        raise SystemExit(f"HELPDESK_LOG_FORMAT={fmt!r}: expected text or json")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(env.get("OTEL_SERVICE_NAME") or f"helpdesk-{service}")
                         if fmt == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=env.get("HELPDESK_LOG_LEVEL", "INFO").upper(), handlers=[handler], force=True)
