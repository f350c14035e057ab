"""A local OTLP/HTTP receiver for the tests: collects the spans the processes export.

It answers ``POST /v1/traces`` (``application/x-protobuf``), as an OpenTelemetry collector
would, and keeps every span with its service's name, so a test can follow one trace
through every process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                      ExportTraceServiceResponse)


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind: 2 server, 3 client, 4 producer, 5 consumer
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, str]


def _spans_of(request: ExportTraceServiceRequest) -> list[Span]:
    found = []
    for resource_spans in request.resource_spans:
        service = next((a.value.string_value for a in resource_spans.resource.attributes
                        if a.key == "service.name"), "")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {a.key: str(getattr(a.value, a.value.WhichOneof("value") or "string_value"))
                              for a in span.attributes}
                found.append(Span(service, span.name, span.kind, span.trace_id.hex(), span.span_id.hex(),
                                  span.parent_span_id.hex(), attributes))
    return found


class OtlpReceiver:
    """``with OtlpReceiver() as otlp``: ``otlp.url`` for OTEL_EXPORTER_OTLP_ENDPOINT, ``otlp.spans()``."""

    def __init__(self) -> None:
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver._lock:
                    receiver._spans += _spans_of(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self, trace_id: str | None = None) -> list[Span]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def env(self) -> dict[str, str]:
        """What a process needs to export here at once (batches every 100 ms)."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_BSP_SCHEDULE_DELAY": "100"}


class OtlpGrpcReceiver(OtlpReceiver):
    """The same collection over OTLP/gRPC (``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``)."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as service

        self._spans, self._lock = [], threading.Lock()
        receiver = self

        class Servicer(service.TraceServiceServicer):
            def Export(self, request: ExportTraceServiceRequest,  # noqa: N802 - the gRPC service's name
                       context: object) -> ExportTraceServiceResponse:
                with receiver._lock:
                    receiver._spans += _spans_of(request)
                return ExportTraceServiceResponse()

        self._grpc = grpc.server(ThreadPoolExecutor(2))
        service.add_TraceServiceServicer_to_server(Servicer(), self._grpc)
        self.url = f"http://127.0.0.1:{self._grpc.add_insecure_port('127.0.0.1:0')}"

    def __enter__(self) -> OtlpGrpcReceiver:
        self._grpc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._grpc.stop(grace=None)

    def env(self) -> dict[str, str]:
        return {**super().env(), "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
