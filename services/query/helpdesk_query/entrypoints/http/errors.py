"""The one place the query side's errors become problem documents (CONTRACT §7)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from helpdesk_shared.web.problems import problem_response

from helpdesk_query.application import AttachmentNotFound, BadCursor, TicketNotFound


def _not_found(request: Request[Any, Any, Any], exc: TicketNotFound) -> Response[dict[str, Any]]:
    return problem_response(404, "not_found", f"no ticket {exc}", request.url.path)


def _no_attachment(request: Request[Any, Any, Any], exc: AttachmentNotFound) -> Response[dict[str, Any]]:
    return problem_response(404, "not_found", str(exc), request.url.path)


def _bad_cursor(request: Request[Any, Any, Any], exc: BadCursor) -> Response[dict[str, Any]]:
    return problem_response(400, "validation_failed", str(exc), request.url.path,
                            errors=[{"field": "cursor", "message": str(exc)}])


ERROR_HANDLERS: dict[type[Exception], Any] = {
    TicketNotFound: _not_found, AttachmentNotFound: _no_attachment, BadCursor: _bad_cursor}
