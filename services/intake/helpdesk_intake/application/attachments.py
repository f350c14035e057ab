"""Files attached in the portal (TEL-8): one comment on the ticket, carrying them.

The comment goes through the tickets' comment use case and command envelope, so it is
a comment like any other: idempotent, pinned by If-Match, queued behind the ticket's
other commands, and a customer's public one on a ticket awaiting them is the
clarification (MED-6, KS-4). The files are held to the email channel's limits and
stored in the object store before the commit that names them — once, whatever the
retries, and only once the ticket is known to be the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from helpdesk_shared.events import Attachment

from helpdesk_intake.adapters.attachment_store import AttachmentsUnavailable
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.service import Outcome, Request
from helpdesk_intake.application.tickets import TicketService
from helpdesk_intake.domain.mail import Limits

__all__ = ["AttachmentsUnavailable", "PortalAttachments", "TooLarge", "Upload"]

Keep = Callable[[bytes, str, str], Attachment]


@dataclass(frozen=True)
class Upload:
    """One file as received: its name and type already fit to store."""

    filename: str
    content_type: str
    content: bytes


class TooLarge(Exception):
    """A file over the attachment size limit, or more files than allowed (the email channel's limits)."""


class PortalAttachments:
    def __init__(self, tickets: TicketService, keep: Keep, limits: Limits) -> None:
        self.tickets = tickets
        self.keep = keep
        self.limits = limits

    def attach(self, request: Request, ticket_id: str, uploads: Sequence[Upload],
               command: cmd.AttachFiles) -> Outcome:
        """Add one comment carrying ``uploads``; without a body, its text names the files."""
        self._within_limits(uploads)
        body = command.body or "Attached: " + ", ".join(u.filename for u in uploads)
        kept: list[tuple[Attachment, ...]] = []

        def files() -> tuple[Attachment, ...]:
            if not kept:
                kept.append(tuple(self.keep(u.content, u.filename, u.content_type) for u in uploads))
            return kept[0]

        comment = cmd.AddComment(body=body, visibility=command.visibility)
        return self.tickets.comment(request, ticket_id, comment, files)

    def _within_limits(self, uploads: Sequence[Upload]) -> None:
        if len(uploads) > self.limits.max_attachments:
            raise TooLarge(f"{len(uploads)} files; at most {self.limits.max_attachments}")
        for upload in uploads:
            if len(upload.content) > self.limits.max_attachment_bytes:
                raise TooLarge(f"{upload.filename} is {len(upload.content)} bytes; "
                               f"at most {self.limits.max_attachment_bytes}")
