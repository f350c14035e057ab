"""What a command request carries besides its body: the caller, idempotency, If-Match, the trace."""

from __future__ import annotations

from typing import Any

from litestar import Request as HttpRequest
from litestar import MediaType, Response
from litestar.serialization import get_serializer

from helpdesk_shared.telemetry import current_traceparent
from helpdesk_shared.web.auth import Principal, provide_principal
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
    if "idempotency-key" not in request.headers:  # the body is hashed for a key's fingerprint only
        return command_request(request, principal)
    body = await request.body()
    return command_request(request, principal, body.decode(errors="replace"))


def command_request(request: HttpRequest[Any, Any, Any], principal: Principal, *content: Any) -> Request:
    """The application's view of a command whose ``content`` tells a true repeat from a reused key.

    The fingerprint (a hash of the request) is taken only with an ``Idempotency-Key``: only a key's stored
    answer is ever compared with it (application/service.py)."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise Problem(400, "validation_failed", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters")
    return Request(
        principal=principal,
        idempotency_key=key,
        fingerprint=fingerprint(request.method, _path(request), *content) if key is not None else "",
        expected_version=_if_match(request.headers.get("if-match")),
        traceparent=current_traceparent(),
    )


def answer(outcome: Outcome) -> Response[dict[str, Any]]:
    """The response of a successful command, with the position of its last event."""
    return Answer(outcome.body, status_code=outcome.status_code,
                  headers={"Helpdesk-Position": str(outcome.position)})


class Answer(Response[dict[str, Any]]):
    """A command's answer, sent as its two ASGI messages built at once (issue 16).

    litestar turns a returned ``Response`` into an ``ASGIResponse``: the route's headers merged into a
    mutable header collection, the body rendered, content type and length set by default, then encoded
    again to send. A command's answer has nothing to merge (its routes set no headers, cookies or
    background tasks; then it goes litestar's way), so its body is encoded by litestar's own JSON
    serializer and its headers, in the order litestar sends them, are bytes at once; what the edge adds
    (``before_send``: security headers) is added as for any answer.
    """

    def to_asgi_response(self, app: Any, request: Any, *, background: Any = None, cookies: Any = None,
                         encoded_headers: Any = None, headers: dict[str, str] | None = None,
                         is_head_response: bool = False, media_type: Any = None, status_code: int | None = None,
                         type_encoders: Any = None) -> Any:
        if (app is not None or background or cookies or encoded_headers or headers or is_head_response
                or self.background or self.cookies or (self.media_type or media_type or MediaType.JSON) != MediaType.JSON
                or not 200 <= (self.status_code or status_code or 200) < 300 or self.status_code == 204):
            return super().to_asgi_response(
                app, request, background=background, cookies=cookies, encoded_headers=encoded_headers,
                headers=headers, is_head_response=is_head_response, media_type=media_type, status_code=status_code,
                type_encoders=type_encoders)
        if self.response_type_encoders:
            type_encoders = {**(type_encoders or {}), **self.response_type_encoders}
        body = self.render(self.content, MediaType.JSON, get_serializer(type_encoders))
        start = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        start += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return _Sent({"type": "http.response.start", "status": self.status_code or status_code or 200,
                      "headers": start},
                     {"type": "http.response.body", "body": body, "more_body": False})


class _Sent:
    """An answer's two ASGI messages."""

    __slots__ = ("start", "body")

    def __init__(self, start: dict[str, Any], body: dict[str, Any]) -> None:
        self.start, self.body = start, body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(self.start)
        await send(self.body)


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
