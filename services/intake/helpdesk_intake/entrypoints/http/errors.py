"""The one place intake's domain and application errors become problem documents (CONTRACT §7)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from helpdesk_shared.clock import ClockMovedBackwards
from helpdesk_shared.web.problems import problem_response

from helpdesk_intake.application import Blocked, IdempotencyKeyReused, NotFound, VersionConflict
from helpdesk_intake.application.attachments import AttachmentsUnavailable, TooLarge
from helpdesk_intake.application.identity import InvalidCredentials
from helpdesk_intake.application.inbound import MailUnavailable, Unreadable
from helpdesk_intake.domain.base import InvalidInput, NotPermitted
from helpdesk_intake.domain.budget import BudgetExceeded
from helpdesk_intake.domain.offer import ChannelClosed
from helpdesk_intake.domain.rules import UnknownPolicy
from helpdesk_intake.domain.throttling import TooManyAttempts
from helpdesk_intake.domain.ticket import InvalidTransition, ReopenWindowClosed
from helpdesk_intake.domain.webhook import AlreadyRemoved

_PROBLEMS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    NotPermitted: (403, "forbidden"),
    Blocked: (403, "forbidden"),
    InvalidCredentials: (401, "unauthorized"),
    TooManyAttempts: (429, "too_many_attempts"),
    ChannelClosed: (422, "channel_closed"),
    InvalidInput: (422, "validation_failed"),
    BudgetExceeded: (409, "budget_exceeded"),
    IdempotencyKeyReused: (422, "validation_failed"),
    InvalidTransition: (409, "invalid_transition"),
    AlreadyRemoved: (409, "invalid_transition"),
    ReopenWindowClosed: (409, "reopen_window_closed"),
    ClockMovedBackwards: (409, "invalid_transition"),
    VersionConflict: (412, "version_conflict"),
    Unreadable: (400, "validation_failed"),
    MailUnavailable: (503, "not_ready"),
    TooLarge: (413, "payload_too_large"),
    AttachmentsUnavailable: (503, "not_ready"),
    UnknownPolicy: (503, "not_ready"),
}


def handle_domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    status, code = next(v for k, v in _PROBLEMS.items() if isinstance(exc, k))
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput) and exc.fields:
        extra["errors"] = [{"field": field, "message": why} for field, why in exc.fields]
    if isinstance(exc, VersionConflict) and "if-match" not in request.headers:
        status = 409  # a race the retries could not win, without a version pinned by the caller
    response = problem_response(status, code, str(exc), request.url.path, **extra)
    if isinstance(exc, (MailUnavailable, AttachmentsUnavailable, UnknownPolicy)):
        response.headers["Retry-After"] = "30"
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


DOMAIN_ERROR_HANDLERS = {kind: handle_domain_error for kind in _PROBLEMS}
