"""The durable JetStream consumer ``notify``: every fact on ``helpdesk.>`` into notify's tables.

One consumer, in stream order: ticket and SLA facts into views and mail, user and
customer facts into the directory, inbound-mail outcomes into replies and forwards.
The stream runner's ``Follower`` owns the loop (one transaction per batch, then the
acks; a message that cannot be applied is parked in ``notify.parked`` and terminated,
and holds back its ticket); it runs on the notifier's locked connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy

from helpdesk_shared import subjects
from helpdesk_shared.stream_runner import Follower, Subscription

from helpdesk_notify.adapters.projection import NotifyProjection, start_tracking
from helpdesk_notify.domain.notifications import Windows
from helpdesk_notify.entrypoints import metrics

DURABLE = "notify"
FILTER = "helpdesk.>"  # ticket, sla, mail, user and customer facts, one consumer in stream order
MAX_ACK_PENDING = 2_000
PARKING_LOCK = 0x4E4F5432
# batches of at most this many messages (the live edge) settle in pipeline mode (``Follower``): their
# BEGIN, the parking lock, the writes and COMMIT go with the reads, not one round trip each
PIPELINE_UP_TO = 50


def projection(windows: Windows) -> NotifyProjection:
    return NotifyProjection(windows, PARKING_LOCK)


def follower(js: JetStreamContext, windows: Windows, batch: int, queued: Callable[[int, int], None],
             stuck_after: float = 30.0) -> Follower:
    """The consumer; ``queued(mails, webhooks)`` is told after a commit that queued any (senders look for them)."""
    made = projection(windows)

    def committed(_: int | None) -> None:
        if made.queued or made.webhooks_queued:
            metrics.QUEUED.inc(made.queued)
            metrics.WEBHOOKS_QUEUED.inc(made.webhooks_queued)
            mails, webhooks, made.queued, made.webhooks_queued = made.queued, made.webhooks_queued, 0, 0
            queued(mails, webhooks)

    return Follower("notify", js, made, Subscription(DURABLE, FILTER, AckPolicy.EXPLICIT, MAX_ACK_PENDING),
                    metrics.CONSUMER, batch, stuck_after, committed, pipeline_up_to=PIPELINE_UP_TO)


async def first_start(conn: psycopg.AsyncConnection[Any], js: JetStreamContext) -> None:
    """On the very first start: mail only what reaches the stream from now on."""
    info = await js.stream_info(subjects.STREAM)
    await start_tracking(conn, info.state.last_seq + 1)
