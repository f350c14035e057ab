"""A window of relay messages published at once, stored all or none: JetStream's atomic batch.

Why a batch and not a pipeline of publishes: with several plain publishes in flight, message
i can be lost (its bytes died with the socket; or the stream refused it) while i+1 is stored
(nats-py re-sends its pending buffer after a reconnect), and the relay, which resumes after
the newest message the stream holds, would never publish i again. The server must refuse i+1
without i. ``Nats-Expected-Last-Subject-Sequence`` cannot say so here: it names the stream
sequence the previous message got, unknown while that message is in flight (the SLA
publisher's messages interleave in the same stream), and its ``…-Subject`` filter is one
subject, so no filter covers the relay's trees without ``helpdesk.sla.>`` (both checked
against the server in ``tests/intake/test_relay_window.py``).

An atomic batch (nats-server 2.12+, ``allow_atomic`` on the stream) is that refusal: each
message carries the batch's id and its place in it, the last one commits, and the server
stores the window only if it received every message 1..n in order — a missing one, a message
it refuses, a relay killed before the commit or a server restarted mid-window leaves none of
it stored. So the stream never holds a window's later event without its earlier ones; one
window at a time keeps windows in store order. A stream without ``allow_atomic`` (an older
server), and a window of fewer than ``ATOMIC_FROM`` messages, get one message at a time, each
awaited, as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.api import PubAck

# A batch costs the server a staging store of its own (~5 ms on R1 file storage), as much as about 16 awaited
# publishes: a smaller window goes one message at a time (as sound), a relay behind a backlog gets full windows.
ATOMIC_FROM = 16
BATCH_ID, BATCH_SEQUENCE, BATCH_COMMIT = "Nats-Batch-Id", "Nats-Batch-Sequence", "Nats-Batch-Commit"


@dataclass(frozen=True)
class Outgoing:
    """One message the relay publishes: where, what, its headers, and the store position it comes from."""

    subject: str
    payload: bytes
    position: int
    headers: dict[str, str] = field(default_factory=dict)


class WindowNotStored(Exception):
    """The stream acknowledged a window with another count than was sent: the turn ends, nothing is assumed."""


async def publish_window(js: JetStreamContext, messages: Sequence[Outgoing]) -> PubAck:
    """Publish ``messages`` in order as one atomic batch (fewer than ``ATOMIC_FROM``: one at a time, each
    awaited); the stream's last ack. Raises unless all were stored.

    Only the commit waits for an answer: the messages before it go out without a reply subject,
    and a lost or refused one makes the server refuse the commit.
    """
    if len(messages) < ATOMIC_FROM:
        for message in messages:
            ack = await js.publish(message.subject, message.payload, headers=message.headers)
        return ack
    batch = uuid.uuid4().hex
    for number, message in enumerate(messages[:-1], 1):
        headers = {**message.headers, BATCH_ID: batch, BATCH_SEQUENCE: str(number)}
        await js._nc.publish(message.subject, message.payload, headers=headers)  # noqa: SLF001 - the js's own connection
    last = messages[-1]
    ack = await js.publish(last.subject, last.payload, headers={
        **last.headers, BATCH_ID: batch, BATCH_SEQUENCE: str(len(messages)), BATCH_COMMIT: "1"})
    if ack.batch_size != len(messages):
        raise WindowNotStored(f"batch {batch}: {len(messages)} sent, {ack.batch_size} acknowledged")
    return ack
