"""Tracing: one tracer provider per service, and W3C ``traceparent`` across process boundaries.

Spans go to OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (and the exporter is
installed), and to a JSON-lines file when ``HELPDESK_TRACE_FILE`` is set (used by
the tests to follow one request through every process). Otherwise spans are made
but not exported, which costs little.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor


def setup_tracing(service: str) -> TracerProvider:
    """Install the service's tracer provider with the exporters its environment asks for."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"helpdesk-{service}"}))
    if path := os.environ.get("HELPDESK_TRACE_FILE"):
        stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        exporter = ConsoleSpanExporter(out=stream, formatter=lambda span: span.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:  # the exporter is optional; say so rather than fail
            print("OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-exporter-otlp is not installed")
        else:
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with what it causes."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None) -> Context | None:
    """The context a stored traceparent names, to parent the spans of later work on it."""
    if not traceparent:
        return None
    return propagate.extract({"traceparent": traceparent})


def inject_into(headers: dict[str, Any]) -> dict[str, Any]:
    """Add the current trace context to outgoing message headers."""
    propagate.inject(headers)
    return headers
