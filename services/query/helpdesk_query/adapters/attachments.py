"""Attachment contents, read from the JetStream object store intake keeps them in.

The events name each file by the SHA-256 of its bytes (``helpdesk_shared.events.Attachment``);
the bytes themselves live outside the event store, in ``helpdesk_shared.attachments``'s bucket.
"""

from __future__ import annotations

from nats.js import JetStreamContext

from helpdesk_shared import attachments


class AttachmentStore:
    """Fetches a file's bytes by its digest."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def fetch(self, attachment_id: str) -> bytes | None:
        """The bytes stored under ``attachment_id``, or None if the store has none."""
        return await attachments.fetch(self._js, attachment_id)
