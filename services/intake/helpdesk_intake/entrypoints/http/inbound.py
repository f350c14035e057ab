"""``POST /v1/inbound/email``: a raw RFC 5322 message in, the outcome recorded for it out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Request as HttpRequest
from litestar import Response, post
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem

from helpdesk_intake.application import Request
from helpdesk_intake.application.inbound import InboundMailService
from helpdesk_intake.entrypoints.http.meta import answer, provide_command
from helpdesk_intake.entrypoints.http.uploads import answer_after_upload

MEDIA_TYPE = "message/rfc822"


@dataclass
class InboundOperation(Operation):
    """The route's OpenAPI operation, with the raw message body litestar cannot see in a body read by hand."""

    def __post_init__(self) -> None:
        message = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY,
                         description="The mail as it arrived: RFC 5322 headers and MIME body.")
        self.request_body = RequestBody(content={MEDIA_TYPE: OpenAPIMediaType(schema=message)}, required=True)


def inbound_email_route(max_message_bytes: int) -> HTTPRouteHandler:
    """The route, with its own body limit: a mail with attachments is far larger than a command; a refusal
    is answered once the upload is read (``uploads``), so a client that sends all before reading hears it."""

    @post("/v1/inbound/email", tags=["email"], request_max_body_size=max_message_bytes, status_code=201,
          dependencies={"command": Provide(provide_command)}, middleware=[answer_after_upload(max_message_bytes)],
          operation_class=InboundOperation, responses=problems(415))
    async def receive_email(request: HttpRequest[Any, Any, Any], command: Request,
                            inbound: InboundMailService) -> Response[dict[str, Any]]:
        """Register, refuse or forward one mail (admin or service; ``Content-Type: message/rfc822``).

        Answers ``201 {mail_id, outcome: registered|refused|forwarded, reason?, ticket_id?,
        number?, comment_id?}`` for a new outcome, ``200`` with the same body and
        ``duplicate: true`` when the Message-ID was seen before (nothing new is recorded);
        ``400`` for a message without even a readable sender, ``413`` over the size limit,
        ``503`` when the outcome cannot be recorded now (send it again). The Message-ID
        already makes a resend harmless; an ``Idempotency-Key`` also works as on any POST.
        """
        command.principal.require(Role.ADMIN, Role.SERVICE)
        if request.content_type[0] != MEDIA_TYPE:
            raise Problem(415, "unsupported_media_type", f"send the raw message as Content-Type: {MEDIA_TYPE}")
        return answer(await asyncio.to_thread(inbound.receive, await request.body(), command))

    return receive_email
