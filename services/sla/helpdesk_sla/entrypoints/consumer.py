"""The ticket-event consumer: a durable JetStream consumer feeding the SLA's tables.

It follows every ticket event, every customer policy change and every release fact, in stream order.
The stream runner owns the loop (the tickets' rows, timers, outbox facts and the
tracked position commit together, then the batch is acknowledged; a message that
cannot be applied is parked in ``sla.parked``, holding back its ticket). One consumer
is active at a time (an advisory lock) — per-ticket order matters; other SLA
processes stand by and still fire timers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import psycopg
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as ev
from helpdesk_shared import release_events as rel
from helpdesk_shared import subjects
from helpdesk_shared.parking import Parking, Rejected, StreamMessage
from helpdesk_shared.stream_runner import Follower, Meters, StreamRunner, Subscription

from helpdesk_sla.adapters import store
from helpdesk_sla.adapters.schema import SCHEMA
from helpdesk_sla.application import PolicyLookup, take_events

DURABLE = "helpdesk-sla"
LOCK_ID = 0x534C4130
PARKING_LOCK = 0x534C4134
# batches of at most this many messages (the live edge) settle in pipeline mode (``Follower``): their
# BEGIN, parking lock, writes and COMMIT go with the reads, not one round trip each
PIPELINE_UP_TO = 50
FILTERS = (subjects.ALL_TICKET_EVENTS, subjects.CUSTOMER_POLICY_CHANGES, subjects.ALL_RELEASE_EVENTS)
METERS = Meters(
    Counter("helpdesk_sla_events_applied_total", "Ticket events applied to SLA state"),
    Counter("helpdesk_sla_events_parked_total", "Messages parked because the SLA could not apply them"),
    Gauge("helpdesk_sla_parked_events", "Messages currently parked in sla.parked"),
    Gauge("helpdesk_sla_position", "Ticket-store position the SLA service has applied"))
_DECODERS = {"ticket": ev.decode, "customer": directory.decode, "release": rel.decode}
Conn = psycopg.AsyncConnection[Any]


def _decode(msg: StreamMessage) -> ev.CloudEvent:
    try:
        return _DECODERS[subjects.family(msg.subject)](msg.payload)
    except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as error:
        raise Rejected(f"undecodable: {error!r}") from None


class SlaProjection:
    """The SLA's tables as the stream runner drives them."""

    def __init__(self, policy_of: PolicyLookup) -> None:
        self._policy_of = policy_of
        self.parking = Parking(f"{SCHEMA}.parked", PARKING_LOCK)

    async def tracked(self, conn: Conn) -> int:
        return (await store.tracking(conn))[1]

    async def apply(self, conn: Conn, msgs: Sequence[StreamMessage], replay: bool = False) -> int:
        traces = {m.aggregate: m.traceparent for m in msgs if m.traceparent}  # a ticket's newest wins
        taken = await take_events(conn, [(m.stream_seq, _decode(m)) for m in msgs], self._policy_of, replay,
                                  traces)
        return taken.applied

    async def advance(self, conn: Conn, stream_seq: int, position: int | None) -> None:
        await store.advance(conn, position, stream_seq)


class Consumer(StreamRunner):
    def __init__(self, conninfo: str, js: JetStreamContext, policy_of: PolicyLookup,
                 on_commit: Callable[[], None], batch: int = 500, stuck_after: float = 30.0) -> None:
        follower = Follower("SLA consumer", js, SlaProjection(policy_of), Subscription(DURABLE, FILTERS), METERS,
                            batch, stuck_after, lambda _: on_commit(), pipeline_up_to=PIPELINE_UP_TO)
        super().__init__(conninfo, follower, LOCK_ID)
