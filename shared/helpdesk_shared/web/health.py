"""``/healthz`` (alive), ``/readyz`` (connected to what it needs) and ``/metrics`` for every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusController

from helpdesk_shared.web.problems import RETRY_AFTER_SECONDS, problem_response

ReadinessCheck = Callable[[], Awaitable[bool]]


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[Any]:
    checks: dict[str, ReadinessCheck] = request.app.state.readiness
    results = {}
    for name, check in checks.items():
        try:
            results[name] = bool(await check())
        except Exception:  # noqa: BLE001 - a failing check means "not ready", not a 500
            results[name] = False
    if all(results.values()):
        return Response({"status": "ready", "checks": results})
    failing = ", ".join(name for name, ok in results.items() if not ok)
    response = problem_response(503, "not_ready", f"not connected: {failing}", checks=results)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


HEALTH_HANDLERS = [healthz, readyz, MetricsController]
