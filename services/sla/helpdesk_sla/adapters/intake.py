"""Intake's command API, as the SLA service calls it: automatic transitions with a service identity.

The same command path as a person's (CONTRACT §3): ``POST /v1/tickets/{id}/actions/{action}``
with ``Idempotency-Key`` and ``If-Match``; intake marks the resulting event ``automatic``.
"""

from __future__ import annotations

from enum import StrEnum

import httpx
from opentelemetry import trace

from helpdesk_shared.telemetry import context_from, inject_into

tracer = trace.get_tracer("helpdesk.sla.intake")


class Answer(StrEnum):
    APPLIED = "applied"
    REFUSED = "refused"  # 409/412: a person got there first; the command is obsolete, not forced
    NOT_FOUND = "not_found"
    FAILED = "failed"  # any other 4xx: a bug to look at, never retried
    RETRY = "retry"  # network error or 5xx: a passing failure


class IntakeClient:
    """Sends commands as the SLA service, with the static ``HELPDESK_SERVICE_TOKEN``: only intake signs JWTs."""

    def __init__(self, base_url: str, service_token: str | None, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._token = service_token or ""  # unset: intake answers 401, the command is retried until it is set

    async def close(self) -> None:
        await self._client.aclose()

    async def act(self, ticket_id: str, action: str, reason: str, expected_version: int,
                  idempotency_key: str, traceparent: str | None = None) -> tuple[Answer, str]:
        """Send one automatic transition, in the trace of the fact that caused it (``traceparent``);
        the answer's kind and a short description."""
        with tracer.start_as_current_span("POST /v1/tickets/{ticket_id}/actions/{action}", kind=trace.SpanKind.CLIENT,
                                          context=context_from(traceparent),
                                          attributes={"helpdesk.ticket_id": ticket_id, "helpdesk.action": action}):
            try:
                response = await self._client.post(
                    f"/v1/tickets/{ticket_id}/actions/{action}", json={"reason": reason},
                    headers=inject_into({"Authorization": f"Bearer {self._token}",
                                         "Idempotency-Key": idempotency_key, "If-Match": f'"{expected_version}"'}))
            except httpx.HTTPError as error:
                return Answer.RETRY, f"{type(error).__name__}: {error}"
        code = response.status_code
        if code < 300:
            return Answer.APPLIED, str(code)
        detail = f"{code} {response.text[:200]}"
        if code in (409, 412):
            return Answer.REFUSED, detail
        if code == 404:
            return Answer.NOT_FOUND, detail
        if code >= 500 or code in (401, 429):
            return Answer.RETRY, detail
        return Answer.FAILED, detail
