"""The SLA projection: a second durable consumer, of ``helpdesk.sla.>``, into ``query.sla``.

SLA facts have their own position space (the SLA service's outbox), so this
consumer tracks the stream sequence it applied, in the transaction of its rows;
the stream runner drives it like the ticket projector, parking into ``query.sla_parked``.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from helpdesk_shared import subjects
from helpdesk_shared.stream_runner import Follower, Meters, StreamRunner, Subscription

from helpdesk_query.adapters.sla_projection import SlaProjection

DURABLE = "helpdesk-query-sla"
LOCK_ID = 0x51525932
PARKING_LOCK = 0x51525934
METERS = Meters(
    Counter("helpdesk_query_sla_events_applied_total", "SLA facts applied to the tickets' sla blocks"),
    Counter("helpdesk_query_sla_events_parked_total", "SLA facts parked because they could not be projected"),
    Gauge("helpdesk_query_sla_parked_events", "SLA facts currently parked in query.sla_parked"))


def projection() -> SlaProjection:
    return SlaProjection(PARKING_LOCK)


class SlaProjector(StreamRunner):
    def __init__(self, conninfo: str, js: JetStreamContext, batch: int = 500, stuck_after: float = 30.0) -> None:
        follower = Follower("SLA projector", js, projection(), Subscription(DURABLE, f"{subjects.SLA_PREFIX}.>"),
                            METERS, batch, stuck_after)
        super().__init__(conninfo, follower, LOCK_ID)
