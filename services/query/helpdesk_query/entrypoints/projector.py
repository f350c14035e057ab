"""The live projection: a durable JetStream consumer feeding the active read-model generation.

The stream runner owns the loop (fetch, one transaction per batch, ack, parking,
metrics); ``TicketProjection`` applies the messages. One projector writes at a time
(an advisory lock); others stand by, so many ``serve`` replicas are safe.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from helpdesk_shared import subjects
from helpdesk_shared.stream_runner import Follower, Meters, StreamRunner, Subscription

from helpdesk_query.adapters.positions import PositionWatcher
from helpdesk_query.adapters.projection import TicketProjection

DURABLE = "helpdesk-query"
LOCK_ID = 0x51525930  # one active projector per database
PARKING_LOCK = 0x51525933  # its batches and the admin's retries, one at a time
PIPELINE_UP_TO = 50  # batches of at most this many events settle in pipeline mode (``Follower``)
METERS = Meters(
    Counter("helpdesk_query_events_applied_total", "Ticket events applied to the read model"),
    Counter("helpdesk_query_events_parked_total", "Messages parked because they could not be projected"),
    Gauge("helpdesk_query_parked_events", "Messages currently parked in query.parked"),
    Gauge("helpdesk_query_position", "Store position the read model has applied"))


def projection() -> TicketProjection:
    return TicketProjection(PARKING_LOCK)


class Projector(StreamRunner):
    """The ticket projector; ``watcher`` learns each position committed."""

    def __init__(self, conninfo: str, js: JetStreamContext, watcher: PositionWatcher | None = None,
                 batch: int = 500, stuck_after: float = 30.0) -> None:
        def committed(position: int | None) -> None:
            if watcher is not None and position is not None:
                watcher.advance(position)

        follower = Follower("projector", js, projection(), Subscription(DURABLE, subjects.ALL_TICKET_EVENTS),
                            METERS, batch, stuck_after, committed, pipeline_up_to=PIPELINE_UP_TO)
        super().__init__(conninfo, follower, LOCK_ID)
