"""RFC 9457 problem documents: every 4xx/5xx answer of every service (CONTRACT §7).

Services raise ``Problem`` (or let litestar raise its HTTP exceptions); the one
handler here turns each into ``application/problem+json`` with a stable ``code``.
Nothing escapes as a bare 500: an unexpected error is logged and answered as an
``internal_error`` problem without internals. A dependency that is away (PostgreSQL
or NATS restarting, a pool with no connection to lend) is no error of ours: it is
answered 503 ``not_ready`` with ``Retry-After``, whichever route met it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from nats import errors as nats_errors
from nats.js import errors as jetstream_errors

log = logging.getLogger("helpdesk.problems")
MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 5  # a restarting PostgreSQL or NATS is back within seconds

# What a dependency that is away raises: worth the same request again a little later.
OUTAGES: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,  # connection lost or refused; psycopg_pool's PoolTimeout too
    psycopg.InterfaceError,  # a connection that died under us
    nats_errors.ConnectionClosedError, nats_errors.NoServersError, nats_errors.StaleConnectionError,
    nats_errors.ConnectionReconnectingError, nats_errors.ConnectionDrainingError,
    nats_errors.OutboundBufferLimitError, nats_errors.NoRespondersError,
    jetstream_errors.ServiceUnavailableError,
    TimeoutError,  # nats' and asyncio's too: a dependency that did not answer in time
    ConnectionError,
)

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


# Every code an answer may carry, with what it means: the OpenAPI documents list them all
# (``ProblemDetails.code``), and a test checks each code raised anywhere is here.
CODES = {
    "validation_failed": "a body, header or parameter that cannot be read (400) or breaks a rule (422)",
    "unauthorized": "no bearer token, or one refused",
    "forbidden": "the caller may not do this, or the account is blocked",
    "not_found": "nothing by that id the caller may see",
    "method_not_allowed": "the path does not answer this method",
    "invalid_transition": "the action is not open from the ticket's status, or the clock would move back",
    "reopen_window_closed": "a return after the policy's reopen window (KS-8)",
    "budget_exceeded": "accepting would take the month past the contract's norm-hours (MED-12)",
    "channel_closed": "the policy does not register requests from this channel (TEL-5, END-2)",
    "version_conflict": "If-Match names a stale version (412), or a race the retries could not win (409)",
    "payload_too_large": "the body is over the route's limit",
    "unsupported_media_type": "the body is not of the media type the route reads",
    "too_many_attempts": "login throttled; Retry-After says when to try again",
    "too_many_requests": "rate limited; Retry-After says when to try again",
    "not_ready": "a dependency (PostgreSQL, NATS, the object store) is away for now; Retry-After",
    "timeout": "the read model did not reach Helpdesk-Min-Position in time",
    "internal_error": "a bug, logged; the answer holds no internals",
    "error": "any other HTTP error the framework answers (e.g. 406)",
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
    if allow := response.headers.get("allow"):
        # litestar lists a path's methods in the order of a set (a handler of several methods):
        # by name, the answer is the same bytes in every process
        response.headers["allow"] = ", ".join(sorted(method.strip() for method in allow.split(",")))
    return response


def handle_undecodable(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[dict[str, Any]]:
    """A body that is not valid UTF-8 (litestar lets the decoder's error through)."""
    return problem_response(400, "validation_failed", f"the body is not valid UTF-8: {exc.reason}",
                            request.url.path, errors=[])


def outage_behind(exc: BaseException) -> BaseException | None:
    """The dependency failure ``exc`` is or was raised from (an adapter may wrap it), if any."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, OUTAGES):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    return None


def handle_outage(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """503 ``not_ready``: what the request needs is away for now; the client may retry."""
    outage = outage_behind(exc) or exc
    log.warning("%s %s: a dependency is away (%s: %s)", request.method, request.url.path,
                type(outage).__name__, outage)
    response = problem_response(503, "not_ready", "a service this request needs is unavailable; retry shortly",
                                request.url.path)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if outage_behind(exc) is not None:
        return handle_outage(request, exc)
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
    **{kind: handle_outage for kind in OUTAGES},
    Exception: handle_unexpected,
}
