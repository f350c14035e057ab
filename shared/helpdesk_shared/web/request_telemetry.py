"""One middleware for a request's span, its Prometheus metrics and the parameter check: one layer (issue 16).

It used to be OpenTelemetry's generic ASGI middleware (attribute collection, meters, a send
wrapper), litestar's Prometheus middleware (another send wrapper, a Request object per call)
and a third layer naming the span after its route. This one runs once the request is
routed, so it knows the route template from the start: the server span is named
``POST /v1/tickets/{ticket_id}`` (never the raw path, whose ids would make every request a
name of its own), continues the caller's ``traceparent``, and sets its attributes only
when the sampler records it (``OTEL_TRACES_SAMPLER``, docs/operations.md). The metrics are
litestar's own objects (``litestar_requests_total`` and co., labels method, path,
status_code, app_name), shared with the portal's middleware. An exception leaving the
handler is answered outside (the exception handlers); its status is the exception's. The
edge's parameter check (``ParameterGuard``, web/edge.py) runs inside the span, so a refused
parameter is traced and counted with its 404 or 422. Each await layer costs on every resume of
the request's task, and the span is started and made current directly, not through the SDK's
generator-based context managers; the caller's trace headers are read only when present.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from helpdesk_shared.web.edge import ParameterGuard

SKIPPED = frozenset({"/metrics", "/healthz", "/readyz"})


def status_of(error: BaseException) -> int:
    """The status an exception is answered with: a Problem's, an HTTPException's, else 500."""
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    return status if isinstance(status, int) else 500


class RequestTelemetry:
    """Factory for the middleware: ``RequestTelemetry(service, tracer_provider, guard).middleware``."""

    def __init__(self, app_name: str, tracer_provider: trace.TracerProvider,
                 guard: ParameterGuard | None = None) -> None:
        self.tracer = tracer_provider.get_tracer("helpdesk_shared.web")
        self.guard = guard or ParameterGuard()
        self._callers = CallerContext()
        config = PrometheusConfig(app_name=app_name, group_path=True)
        metrics = PrometheusMiddleware(app=None, config=config)  # type: ignore[arg-type]  # its metrics only
        labels: dict[str, str | int | float] = {"method": "", "path": "", "status_code": 0, "app_name": app_name}
        self.app_name = app_name
        self.count = metrics.request_count(labels)
        self.duration = metrics.request_time(labels)
        self.in_progress = metrics.requests_in_progress(labels)
        self.errors = metrics.requests_error_count(labels)
        # Each route's labelled metrics, looked up once: labels() takes a lock and builds a key (routes are few).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._in_progress: dict[tuple[str, str], Any] = {}

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI middleware around ``app`` (a routed handler's stack)."""
        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"] in SKIPPED:
                self.guard.check(scope)
                await app(scope, receive, send)
                return
            await self._observe(app, scope, receive, send)
        return observed

    async def _observe(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        method, route = scope["method"], scope.get("path_template") or scope["path"]
        answered = [200]

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered[0] = message["status"]
            await send(message)

        started = time.perf_counter()
        if (in_progress := self._in_progress.get((method, route))) is None:
            in_progress = self._in_progress[method, route] = self.in_progress.labels(method, route, 200, self.app_name)
        in_progress.inc()
        span = self.tracer.start_span(f"{method} {route}", context=self._callers.of(scope), kind=SpanKind.SERVER,
                                      record_exception=False, set_status_on_exception=False)
        token = context.attach(trace.set_span_in_context(span))
        try:
            self.guard.check(scope)
            await app(scope, receive, noted)
        except BaseException as error:
            answered[0] = status_of(error)
            raise
        finally:
            in_progress.dec()
            self._count(method, route, answered[0], time.perf_counter() - started)
            if span.is_recording():
                _describe(span, scope, route, answered[0])
            span.end()
            context.detach(token)

    def _count(self, method: str, route: str, status: int, seconds: float) -> None:
        if status >= 500:
            self.errors.labels(method, route, status, self.app_name).inc()
        count, duration = self._labelled(method, route, status)
        count.inc()
        duration.observe(seconds)

    def _labelled(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The request counter and duration histogram of one route and status."""
        key = (method, route, status)
        if (children := self._children.get(key)) is None:
            children = self._children[key] = (self.count.labels(method, route, status, self.app_name),
                                              self.duration.labels(method, route, status, self.app_name))
        return children


class CallerContext:
    """The trace context a request's headers carry, as the global propagator (``OTEL_PROPAGATORS``) reads it;
    the propagator runs only when one of its headers came (most requests carry none)."""

    def __init__(self) -> None:
        self._propagator: Any = None
        self._fields: frozenset[bytes] = frozenset()

    def of(self, scope: Scope) -> Context:
        propagator = propagate.get_global_textmap()
        if propagator is not self._propagator:
            self._propagator, self._fields = propagator, frozenset(f.lower().encode() for f in propagator.fields)
        carrier: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            if name in self._fields:
                carrier.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        return propagate.extract(carrier) if carrier else Context()


def _describe(span: Any, scope: Scope, route: str, status: int) -> None:
    """The server span's attributes (OpenTelemetry HTTP semantic conventions), set once, at its end."""
    span.set_attributes({"http.request.method": scope["method"], "http.route": route, "url.path": scope["path"],
                         "url.scheme": scope.get("scheme", "http"), "http.response.status_code": status,
                         "network.protocol.version": scope.get("http_version", "1.1")})
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
