"""Reading the HELPDESK stream from tests (sync wrappers over nats-py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import nats
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from helpdesk_shared import attachments


@dataclass(frozen=True)
class StreamMessage:
    subject: str
    headers: dict[str, str]
    data: bytes


def message_count(nats_url: str, stream: str = "HELPDESK") -> int:
    async def count() -> int:
        nc = await nats.connect(nats_url)
        try:
            return (await nc.jetstream().stream_info(stream)).state.messages
        except NotFoundError:
            return 0
        finally:
            await nc.close()
    return asyncio.run(count())


def read_all(nats_url: str, subject: str = "helpdesk.ticket.>") -> list[StreamMessage]:
    """Every message on ``subject``, in stream order."""
    async def read() -> list[StreamMessage]:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        try:
            try:
                info = await js.stream_info("HELPDESK", subjects_filter=subject)
            except NotFoundError:  # the relay has not created the stream yet
                return []
            total = sum((info.state.subjects or {}).values())
            sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
            messages = []
            while len(messages) < total:
                msg = await sub.next_msg(timeout=5)
                messages.append(StreamMessage(msg.subject, dict(msg.headers or {}), msg.data))
            return messages
        finally:
            await nc.close()
    return asyncio.run(read())


def fetch_attachment(nats_url: str, digest: str) -> bytes | None:
    """The bytes stored in the attachments object store under ``digest`` (None if none)."""
    async def get() -> bytes | None:
        nc = await nats.connect(nats_url)
        try:
            return await attachments.fetch(nc.jetstream(), digest)
        finally:
            await nc.close()
    return asyncio.run(get())
