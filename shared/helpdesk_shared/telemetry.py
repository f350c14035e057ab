"""Tracing: one tracer provider per process, and W3C ``traceparent`` across process boundaries.

The standard ``OTEL_*`` variables are honoured, as the SDK reads them: ``OTEL_SERVICE_NAME``
(else ``helpdesk-<process>``) and ``OTEL_RESOURCE_ATTRIBUTES``; ``OTEL_TRACES_SAMPLER`` and
``OTEL_TRACES_SAMPLER_ARG`` (e.g. ``parentbased_traceidratio`` and ``0.1``); spans go to OTLP
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) is set, over
``OTEL_EXPORTER_OTLP_PROTOCOL`` ``http/protobuf`` (the default) or ``grpc``, batched as
``OTEL_BSP_*`` say; ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true`` turn export off.
``HELPDESK_TRACE_FILE`` also writes every span as a JSON line (the tests follow requests by it).

A process that exports no spans records none it starts itself: without ``OTEL_TRACES_SAMPLER``
its sampler is ``parentbased_always_off``, not the SDK's ``parentbased_always_on``, so a request's
span is a non-recording one (no attributes, no events, nothing built to be dropped at its end;
issue 16). It still has a trace and span id, so ``traceparent`` goes on with the events and
messages, flagged not sampled; a caller's sampled trace is still followed and recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor,
                                            SpanExporter)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler

log = logging.getLogger("helpdesk.telemetry")
_exporting = False  # whether this process sends its spans anywhere
_parent_decides = False  # whether the sampler is default_sampler's: a span records only in a sampled trace


def setup_tracing(service: str) -> TracerProvider:
    """Install the process's tracer provider with the exporters its environment asks for."""
    global _exporting, _parent_decides
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"helpdesk-{service}"}
    processors = []
    if path := os.environ.get("HELPDESK_TRACE_FILE"):
        stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        exporter = ConsoleSpanExporter(out=stream, formatter=lambda span: span.to_json(indent=None) + "\n")
        processors.append(SimpleSpanProcessor(exporter))
    if (otlp := otlp_exporter()) is not None:
        processors.append(BatchSpanProcessor(otlp))
    _exporting = bool(processors)
    sampler = default_sampler(_exporting)
    _parent_decides = sampler is not None
    provider = TracerProvider(resource=Resource.create(named), sampler=sampler)
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


def default_sampler(exporting: bool, environ: dict[str, str] | None = None) -> Sampler | None:
    """The sampler of a process's provider: None (the SDK's, from ``OTEL_TRACES_SAMPLER``: the operator's
    choice wins) unless the process exports nothing and no sampler is named; then ``parentbased_always_off``."""
    env = os.environ if environ is None else environ
    if exporting or env.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(ALWAYS_OFF)


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


def span_in_trace(tracer: trace.Tracer, name: str, traceparent: str | None) -> AbstractContextManager[Any]:
    """A span named ``name``, current inside the block, a child of the span ``traceparent`` names; no span at
    all where it could not be recorded (this process's sampler is ``default_sampler``'s and that trace is not
    sampled): a non-recording span still costs its ids, the parent's parsing and making it current."""
    if _parent_decides and not _sampled(traceparent):
        return contextlib.nullcontext()
    return tracer.start_as_current_span(name, context=context_from(traceparent))


def _sampled(traceparent: str | None) -> bool:
    """Whether a W3C traceparent (``00-<trace id>-<span id>-<flags>``) has its sampled flag set; one of another
    shape counts as sampled (the SDK's parsing decides then)."""
    if not traceparent:
        return False
    if len(traceparent) != 55 or traceparent[52] != "-":
        return True
    try:
        return bool(int(traceparent[53:], 16) & 1)
    except ValueError:
        return True


def inject_into(headers: dict[str, Any]) -> dict[str, Any]:
    """Add the current trace context to outgoing message headers."""
    propagate.inject(headers)
    return headers
