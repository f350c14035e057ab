"""RFC 9457 problem documents: every 4xx/5xx answer of every service (CONTRACT §7).

Services raise ``Problem`` (or let litestar raise its HTTP exceptions); the one
handler here turns each into ``application/problem+json`` with a stable ``code``.
Nothing escapes as a bare 500: an unexpected error is logged and answered as an
``internal_error`` problem without internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger("helpdesk.problems")
MEDIA_TYPE = "application/problem+json"

_CODE_BY_STATUS = {
    400: "validation_failed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_transition",
    412: "version_conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "not_ready",
    504: "timeout",
}


class Problem(Exception):
    """An error answer with a machine-readable ``code`` (CONTRACT §7)."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def problem_response(status: int, code: str, detail: str, instance: str | None = None,
                     **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"https://helpdesk.example/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    if instance:
        body["instance"] = instance
    return Response(body, status_code=status, media_type=MEDIA_TYPE)


def handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[dict[str, Any]]:
    return problem_response(exc.status, exc.code, exc.detail, request.url.path, **exc.extra)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) or status == 400:
        status = 400 if status < 500 else status
        extra["errors"] = _field_errors(exc.extra)
    response = problem_response(status, _CODE_BY_STATUS.get(status, "error"), str(exc.detail),
                                request.url.path, **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def handle_undecodable(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[dict[str, Any]]:
    """A body that is not valid UTF-8 (litestar lets the decoder's error through)."""
    return problem_response(400, "validation_failed", f"the body is not valid UTF-8: {exc.reason}",
                            request.url.path, errors=[])


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal_error", "an unexpected error occurred; it has been logged",
                            request.url.path)


def _field_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's validation details as ``[{field, message}]``."""
    errors = []
    for item in extra if isinstance(extra, list) else ([extra] if extra else []):
        if isinstance(item, dict):
            errors.append({"field": item.get("key") or item.get("source"), "message": item.get("message")})
    return errors


EXCEPTION_HANDLERS = {
    Problem: handle_problem,
    HTTPException: handle_http_exception,
    UnicodeDecodeError: handle_undecodable,
    Exception: handle_unexpected,
}
