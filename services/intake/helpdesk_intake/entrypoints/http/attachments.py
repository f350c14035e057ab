"""``POST /v1/tickets/{id}/attachments``: files from the portal (TEL-8), as one comment carrying them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request as HttpRequest
from litestar import Response, post
from litestar.datastructures import UploadFile
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from helpdesk_shared.attachments import digest
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem

from helpdesk_intake.adapters import mime
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.attachments import PortalAttachments, Upload
from helpdesk_intake.domain.mail import Limits
from helpdesk_intake.entrypoints.http.meta import answer, command_request
from helpdesk_intake.entrypoints.http.routes import WRITERS
from helpdesk_intake.entrypoints.http.uploads import answer_after_upload

MEDIA_TYPE = "multipart/form-data"
FILE_FIELD = "file"


@dataclass
class UploadOperation(Operation):
    """The route's OpenAPI operation, with the multipart body litestar cannot see in a form read by hand."""

    def __post_init__(self) -> None:
        files = Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
        form = Schema(type=OpenAPIType.OBJECT, required=[FILE_FIELD], properties={
            FILE_FIELD: files, "body": Schema(type=OpenAPIType.STRING),
            "visibility": Schema(type=OpenAPIType.STRING, enum=["public", "internal"])})
        self.request_body = RequestBody(content={MEDIA_TYPE: OpenAPIMediaType(schema=form)}, required=True)


def attachments_route(limits: Limits, max_files_bytes: int, max_text_bytes: int) -> HTTPRouteHandler:
    """The route, with its own body limit: as many files as a comment may carry (at most ``max_files_bytes``
    in all, a whole mail's worth) and a command's worth of text; every other route keeps the small one."""
    max_body = min(limits.max_attachment_bytes * limits.max_attachments, max_files_bytes) + max_text_bytes

    @post("/v1/tickets/{ticket_id:str}/attachments", tags=["tickets"], request_max_body_size=max_body,
          status_code=201, operation_class=UploadOperation, responses=problems(415), opt={"command": True},
          middleware=[answer_after_upload(max_body)])
    async def attach(request: HttpRequest[Any, Any, Any], ticket_id: str, principal: Principal,
                     portal: PortalAttachments) -> Response[dict[str, Any]]:
        """Attach files: one comment carrying them (TEL-8), ``multipart/form-data``.

        Parts: one or more ``file`` (its filename and content type are kept), an optional
        ``body`` (the comment's text; without it, a line naming the files) and ``visibility``
        (``public``, or ``internal`` for staff). Answers ``201`` as a comment does, with
        ``attachments: [{id, filename, content_type, size}]``; ``id`` is the SHA-256 the query
        service serves the file under. ``413`` over the attachment limits, ``400`` without a
        file or for a body that is not readable multipart, ``503`` when the files cannot be
        stored now (nothing is recorded; send again).
        """
        principal.require(*WRITERS)
        if request.content_type[0] != MEDIA_TYPE:
            raise Problem(415, "unsupported_media_type", f"send the files as Content-Type: {MEDIA_TYPE}")
        uploads, fields = await _read(request)
        command = _command(fields)
        files = [(u.filename, u.content_type, digest(u.content)) for u in uploads]
        envelope = command_request(request, principal, msgspec.to_builtins(command), files)
        return answer(await asyncio.to_thread(portal.attach, envelope, ticket_id, uploads, command))

    return attach


async def _read(request: HttpRequest[Any, Any, Any]) -> tuple[list[Upload], dict[str, str]]:
    """The uploaded files, their names and types made fit to store, and the text fields beside them."""
    try:
        form = await request.form()
    except (LookupError, UnicodeError) as error:  # a text part in an unknown or wrong charset
        raise Problem(400, "validation_failed", f"the multipart body cannot be read: {error}") from None
    uploads: list[Upload] = []
    fields: dict[str, str] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append(await _upload(name, value, len(uploads) + 1))
            elif name == FILE_FIELD:
                raise Problem(400, "validation_failed", f"{FILE_FIELD} must be a file part, with a filename")
            elif name in fields:
                raise Problem(400, "validation_failed", f"{name} is given twice")
            else:
                fields[name] = value
    finally:
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                await value.close()
    if not uploads:
        raise Problem(400, "validation_failed", f"no file: send each one as a {FILE_FIELD} part")
    return uploads, fields


async def _upload(name: str, part: UploadFile, n: int) -> Upload:
    if name != FILE_FIELD:
        raise Problem(400, "validation_failed", f"unexpected file part {name!r}; send files as {FILE_FIELD}")
    content = await part.read()
    content_type = mime.attachment_type(part.content_type)
    filename = mime.attachment_name(part.filename, content_type, n)
    if not content:
        raise Problem(400, "validation_failed", f"{filename} is empty")
    return Upload(filename, content_type, content)


def _command(fields: dict[str, str]) -> cmd.AttachFiles:
    """The text fields as a command; a blank body (an empty text area) is no body."""
    given = {k: v for k, v in fields.items() if k != "body" or v.strip()}
    try:
        return msgspec.convert(given, cmd.AttachFiles)
    except msgspec.ValidationError as error:
        raise Problem(400, "validation_failed", str(error)) from None
