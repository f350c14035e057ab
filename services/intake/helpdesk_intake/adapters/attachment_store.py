"""Attachments into the JetStream object store, from the worker threads use cases run in.

The use cases are synchronous (they run in threads, beside the group committer);
NATS lives on the process's event loop. ``keep`` hands the upload to that loop and
waits for it, so an attachment is stored before the event naming it is committed.
"""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext

from helpdesk_shared import attachments
from helpdesk_shared.events import Attachment

TIMEOUT_SECONDS = 60.0


class AttachmentsUnavailable(Exception):
    """The object store did not take an attachment (NATS down or too slow): try again later."""


class AttachmentStore:
    def __init__(self, js: JetStreamContext, loop: asyncio.AbstractEventLoop, replicas: int = 1) -> None:
        self._js = js
        self._loop = loop
        self._replicas = replicas  # copies of the bucket, should this be the first upload ever

    def keep(self, content: bytes, filename: str, content_type: str) -> Attachment:
        """Store ``content`` (once per SHA-256) and describe it for an event."""
        upload = attachments.store(self._js, content, filename=filename, content_type=content_type,
                                   replicas=self._replicas)
        future = asyncio.run_coroutine_threadsafe(upload, self._loop)
        try:
            return future.result(TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 - any NATS failure is a passing one here
            future.cancel()
            raise AttachmentsUnavailable(f"the attachment store failed: {type(error).__name__}") from error
