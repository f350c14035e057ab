"""Tracing: one tracer provider per process, and W3C ``traceparent`` across process boundaries.

The standard ``OTEL_*`` variables are honoured, as the SDK reads them: ``OTEL_SERVICE_NAME``
(else ``helpdesk-<process>``) and ``OTEL_RESOURCE_ATTRIBUTES``; ``OTEL_TRACES_SAMPLER`` and
``OTEL_TRACES_SAMPLER_ARG`` (e.g. ``parentbased_traceidratio`` and ``0.1``); spans go to OTLP
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) is set, over
``OTEL_EXPORTER_OTLP_PROTOCOL`` ``http/protobuf`` (the default) or ``grpc``, batched as
``OTEL_BSP_*`` say; ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true`` turn export off.
``HELPDESK_TRACE_FILE`` also writes every span as a JSON line (the tests follow requests by it).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor,
                                            SpanExporter)

log = logging.getLogger("helpdesk.telemetry")
_exporting = False  # whether this process sends its spans anywhere


def setup_tracing(service: str) -> TracerProvider:
    """Install the process's tracer provider with the exporters its environment asks for."""
    global _exporting
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"helpdesk-{service}"}
    provider = TracerProvider(resource=Resource.create(named))  # the sampler comes from OTEL_TRACES_SAMPLER
    if path := os.environ.get("HELPDESK_TRACE_FILE"):
        stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        exporter = ConsoleSpanExporter(out=stream, formatter=lambda span: span.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        _exporting = True
    if (otlp := otlp_exporter()) is not None:
        provider.add_span_processor(BatchSpanProcessor(otlp))
        _exporting = True
    trace.set_tracer_provider(provider)
    return provider


def otlp_exporter(environ: dict[str, str] | None = None) -> SpanExporter | None:
    """The OTLP span exporter the ``OTEL_*`` variables ask for, or None when none is asked for."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true" or env.get("OTEL_TRACES_EXPORTER") == "none":
        return None
    if not (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return None
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc()
    if protocol != "http/protobuf":
        log.error("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported (grpc or http/protobuf): not exporting", protocol)
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http()


def exporting() -> bool:
    """Whether spans leave this process: work that only spans need (one per stream message) is skipped if not."""
    return _exporting


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
