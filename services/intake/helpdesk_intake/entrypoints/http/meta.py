"""What a command request carries besides its body: the caller, idempotency, If-Match, the trace."""

from __future__ import annotations

from typing import Any

from litestar import Request as HttpRequest
from litestar import Response

from helpdesk_shared.telemetry import current_traceparent
from helpdesk_shared.web.answer import Answer
from helpdesk_shared.web.auth import Principal, provide_principal
from helpdesk_shared.web.headers import header
from helpdesk_shared.web.problems import Problem

from helpdesk_intake.application import Outcome, Request
from helpdesk_intake.application.service import fingerprint

MAX_KEY_LENGTH = 200


async def provide_command(request: HttpRequest[Any, Any, Any]) -> Request:
    """Litestar dependency: the application's view of an incoming command.

    It verifies the caller itself rather than depending on ``principal``: one dependency less to resolve
    (and to validate) on every command (issue 16).
    """
    principal = await provide_principal(request)
    if header(request.scope, b"idempotency-key") is None:  # the body is hashed for a key's fingerprint only
        return command_request(request, principal)
    body = await request.body()
    return command_request(request, principal, body.decode(errors="replace"))


def command_request(request: HttpRequest[Any, Any, Any], principal: Principal, *content: Any) -> Request:
    """The application's view of a command whose ``content`` tells a true repeat from a reused key.

    The fingerprint (a hash of the request) is taken only with an ``Idempotency-Key``: only a key's stored
    answer is ever compared with it (application/service.py)."""
    key = header(request.scope, b"idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise Problem(400, "validation_failed", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters")
    return Request(
        principal=principal,
        idempotency_key=key,
        fingerprint=fingerprint(request.method, _path(request), *content) if key is not None else "",
        expected_version=_if_match(header(request.scope, b"if-match")),
        traceparent=current_traceparent(),
    )


def answer(outcome: Outcome) -> Response[dict[str, Any]]:
    """The response of a successful command, with the position of its last event."""
    return Answer(outcome.body, status_code=outcome.status_code,
                  headers={"Helpdesk-Position": str(outcome.position)})


def _path(request: HttpRequest[Any, Any, Any]) -> str:
    """The request's path as ``request.url.path`` reads it (stored fingerprints depend on it), without building
    the whole URL on every command."""
    return request.scope.get("root_path", "") + request.scope["path"]


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Problem(400, "validation_failed", 'If-Match must be a version, e.g. If-Match: "3"')
    return int(raw)
