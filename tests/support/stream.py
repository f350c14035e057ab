"""Reading the HELPDESK stream from tests (sync wrappers over nats-py; a URL may list a cluster's nodes)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import nats
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from helpdesk_shared import attachments
from helpdesk_shared.connections import nats_servers


@dataclass(frozen=True)
class StreamMessage:
    subject: str
    headers: dict[str, str]
    data: bytes


def message_count(nats_url: str, stream: str = "HELPDESK") -> int:
    async def count() -> int:
        nc = await nats.connect(nats_servers(nats_url))
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
        nc = await nats.connect(nats_servers(nats_url))
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


@dataclass(frozen=True)
class Replication:
    """A stream's place in a JetStream cluster: its leader, and how many of its copies are current."""

    leader: str | None
    replicas: int  # num_replicas in its configuration
    peers: int  # copies the cluster reports, the leader's included
    current: int  # of those, up to date with the leader


def replication(nats_url: str, stream: str = "HELPDESK") -> Replication:
    """How ``stream`` is replicated, as the server at ``nats_url`` sees it."""
    async def read() -> Replication:
        nc = await nats.connect(nats_servers(nats_url), allow_reconnect=False, connect_timeout=2)
        try:
            info = await nc.jetstream().stream_info(stream)
        finally:
            await nc.close()
        followers = (info.cluster.replicas or []) if info.cluster else []
        leader = info.cluster.leader if info.cluster else None
        return Replication(leader, info.config.num_replicas or 1, (1 if leader else 0) + len(followers),
                           (1 if leader else 0) + sum(1 for p in followers if p.current))
    return asyncio.run(read())
