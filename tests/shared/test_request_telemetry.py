"""A request's span and metrics in one layer (helpdesk_shared.web.request_telemetry), sampled by parent and ratio."""

from __future__ import annotations

import os

from litestar import get
from litestar.testing import TestClient
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import REGISTRY

from helpdesk_shared import telemetry
from helpdesk_shared.telemetry import current_traceparent, exporting, setup_tracing, span_in_trace
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.auth import Authenticator
from helpdesk_shared.web.problems import Problem
from helpdesk_shared.web.keys import KeyRing
from tests.support.tokens import session_keys_dir

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@get("/things/{thing_id:str}", sync_to_thread=False)
def thing(thing_id: str) -> dict[str, str | None]:
    if thing_id == "missing":
        raise Problem(404, "not_found", "no such thing")
    return {"traceparent": current_traceparent()}


def client(provider: TracerProvider, service: str) -> TestClient:
    authenticator = Authenticator(KeyRing(session_keys_dir()))
    app = build_app(service=service, version="0", handlers=[thing], authenticator=authenticator,
                    readiness={}, tracer_provider=provider)
    return TestClient(app)


def traced(sampler=None) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def requests(service: str, path: str, status: str) -> float:
    return REGISTRY.get_sample_value("litestar_requests_total", {
        "method": "GET", "path": path, "status_code": status, "app_name": f"helpdesk_{service}"}) or 0.0


def test_perf_one_layer_names_the_server_span_after_the_route_and_continues_the_callers_trace() -> None:
    provider, exporter = traced()
    with client(provider, "telemetry_a") as http:
        answer = http.get("/things/t-1", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
        assert http.get("/healthz").status_code == 200
    assert answer.status_code == 200 and answer.json()["traceparent"].split("-")[1] == TRACE
    [span] = exporter.get_finished_spans()
    assert (span.name, span.kind, span.parent.span_id) == ("GET /things/{thing_id}", SpanKind.SERVER, 0x00f067aa0ba902b7)
    assert span.attributes["http.route"] == "/things/{thing_id}" and span.attributes["http.response.status_code"] == 200
    assert requests("telemetry_a", "/things/{thing_id}", "200") == 1


def test_perf_problems_are_counted_with_their_status_and_unsampled_requests_still_carry_a_trace() -> None:
    provider, exporter = traced(ParentBased(TraceIdRatioBased(0.0)))
    with client(provider, "telemetry_b") as http:
        missing = http.get("/things/missing")
        unsampled = http.get("/things/t-2")
        sampled = http.get("/things/t-3", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert missing.status_code == 404 and requests("telemetry_b", "/things/{thing_id}", "404") == 1
    assert int(unsampled.json()["traceparent"].split("-")[3], 16) & 1 == 0  # a trace id, not sampled
    assert [s.context.trace_id for s in exporter.get_finished_spans()] == [int(TRACE, 16)]  # the parent decides
    assert sampled.status_code == 200


def test_perf_trace_sampling_is_configured_by_the_standard_otel_variables(monkeypatch) -> None:
    monkeypatch.setitem(os.environ, "OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setitem(os.environ, "OTEL_TRACES_SAMPLER_ARG", "0.25")
    description = setup_tracing("telemetry-test").sampler.get_description()
    assert description.startswith("ParentBased") and "0.25" in description


class RenamedTraceContext(TraceContextTextMapPropagator):
    """W3C trace context under another header, as a deployment's ``OTEL_PROPAGATORS`` may choose a propagator."""

    _TRACEPARENT_HEADER_NAME = "x-parent"

    @property
    def fields(self) -> set[str]:
        return {"x-parent"}


def test_perf_the_callers_trace_is_read_by_the_configured_propagator_only_from_its_headers() -> None:
    provider, exporter = traced()
    configured = propagate.get_global_textmap()
    propagate.set_global_textmap(RenamedTraceContext())
    try:
        with client(provider, "telemetry_c") as http:
            http.get("/things/t-1", headers={"x-parent": f"00-{TRACE}-00f067aa0ba902b7-01"})
            http.get("/things/t-2", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    finally:
        propagate.set_global_textmap(configured)
    continued, ignored = exporter.get_finished_spans()
    assert continued.context.trace_id == int(TRACE, 16) and continued.parent.span_id == 0x00f067aa0ba902b7
    assert ignored.context.trace_id != int(TRACE, 16) and ignored.parent is None


def test_perf_the_parameter_check_runs_in_the_one_request_layer_traced_and_counted() -> None:
    provider, exporter = traced()
    with client(provider, "telemetry_d") as http:
        [route] = [r for r in http.app.routes if r.path == "/things/{thing_id:str}"]
        assert len(route.route_handlers[0].resolve_middleware()) == 1
        refused = http.get("/things/bad%01id")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /things/{thing_id}" and span.attributes["http.response.status_code"] == 404
    assert requests("telemetry_d", "/things/{thing_id}", "404") == 1


@get("/recording", sync_to_thread=False)
def recording() -> dict[str, object]:
    return {"recording": trace.get_current_span().is_recording(), "traceparent": current_traceparent()}


def test_perf_a_process_exporting_no_span_records_none_it_starts_yet_passes_its_trace_on(monkeypatch, tmp_path) -> None:
    for name in ("OTEL_TRACES_SAMPLER", "HELPDESK_TRACE_FILE", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(telemetry, "_exporting", telemetry.exporting())  # restored for the next tests
    monkeypatch.setattr(telemetry, "_parent_decides", telemetry._parent_decides)
    provider = setup_tracing("telemetry-quiet")
    assert provider.sampler.get_description().startswith("ParentBased{root:AlwaysOffSampler,") and not exporting()
    authenticator = Authenticator(KeyRing(session_keys_dir()))
    app = build_app(service="telemetry_e", version="0", handlers=[recording], authenticator=authenticator,
                    readiness={}, tracer_provider=provider)
    with TestClient(app) as http:
        own = http.get("/recording").json()
        followed = http.get("/recording", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}).json()
    version, trace_id, span_id, flags = own["traceparent"].split("-")
    assert not own["recording"] and int(trace_id, 16) and int(span_id, 16) and int(flags, 16) & 1 == 0
    assert followed["recording"] and followed["traceparent"].split("-")[1] == TRACE  # the caller's choice stands
    # a child span (the commit's) is made only where it can be recorded: in a sampled trace
    tracer = provider.get_tracer("test")
    with span_in_trace(tracer, "eventstore.commit", own["traceparent"]):
        assert not trace.get_current_span().get_span_context().is_valid  # no span, not even a non-recording one
    with span_in_trace(tracer, "eventstore.commit", followed["traceparent"]) as child:
        assert child.is_recording() and child.parent.span_id == int(followed["traceparent"].split("-")[2], 16)
    # an operator's sampler wins; a process that exports (the tests' trace file) keeps the SDK's default
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert setup_tracing("telemetry-chosen").sampler.get_description() == "AlwaysOnSampler"
    monkeypatch.delenv("OTEL_TRACES_SAMPLER")
    monkeypatch.setenv("HELPDESK_TRACE_FILE", str(tmp_path / "spans.jsonl"))
    assert setup_tracing("telemetry-traced").sampler.get_description().startswith("ParentBased{root:AlwaysOnSampler,")
    assert exporting()
    with span_in_trace(trace.get_tracer("test"), "eventstore.commit", own["traceparent"]) as child:
        assert child.get_span_context().trace_id == int(trace_id, 16)  # the SDK's sampler decides again
