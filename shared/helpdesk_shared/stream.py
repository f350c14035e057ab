"""The ``HELPDESK`` JetStream stream (CONTRACT §8): its one configuration and its message headers.

Every service that publishes to or reads from the stream may be the first to start,
so each creates it idempotently with the same configuration from here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import replace

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from helpdesk_shared import subjects

log = logging.getLogger("helpdesk.stream")
POSITION_HEADER = "Helpdesk-Position"  # the global event-store position of a ticket message
DUPLICATE_WINDOW = dt.timedelta(minutes=10)


def stream_config() -> StreamConfig:
    """File storage, kept forever, deduplicated by ``Nats-Msg-Id`` within the window."""
    return StreamConfig(
        name=subjects.STREAM,
        subjects=subjects.STREAM_SUBJECTS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
    )


async def ensure_stream(js: JetStreamContext) -> None:
    """Create the ``HELPDESK`` stream if it is missing; add subject trees an older one lacks."""
    try:
        info = await js.stream_info(subjects.STREAM)
    except NotFoundError:
        try:
            await js.add_stream(stream_config())
            return
        except Exception:  # noqa: BLE001 - another service created it meanwhile
            info = await js.stream_info(subjects.STREAM)
    missing = [s for s in subjects.STREAM_SUBJECTS if s not in (info.config.subjects or [])]
    if missing:
        log.info("adding subjects %s to stream %s", missing, subjects.STREAM)
        await js.update_stream(config=replace(info.config, subjects=[*(info.config.subjects or []), *missing]))


async def last_position(js: JetStreamContext, subject: str) -> int:
    """The event-store position (``Helpdesk-Position``) of the newest message on ``subject`` (0: none)."""
    try:
        message = await js.get_last_msg(subjects.STREAM, subject)
    except NotFoundError:
        return 0
    return int((message.headers or {}).get(POSITION_HEADER, 0))


async def last_store_position(js: JetStreamContext) -> int:
    """The position of the newest event relayed from intake's store, over all the trees it publishes."""
    return max([await last_position(js, f"{prefix}.>") for prefix in subjects.STORE_PREFIXES])


async def bind_aligned(js: JetStreamContext, durable: str, filter_subject: str | Sequence[str], tracked_seq: int, *,
                       ack_policy: AckPolicy = AckPolicy.ALL,
                       max_ack_pending: int = 20_000) -> JetStreamContext.PullSubscription:
    """Bind to a durable pull consumer that resumes right after ``tracked_seq``.

    A consumer's own projection is its bookmark (the stream sequence it stored with
    its rows). If the durable consumer delivered past it, or holds unacked messages,
    those would only come back after ``ack_wait`` and behind newer ones, so it is
    re-created to start at ``tracked_seq + 1``; so is one left with other filters
    by an older version. Several filter subjects keep their messages in stream order.
    """
    filters = [filter_subject] if isinstance(filter_subject, str) else list(filter_subject)
    try:
        info = await js.consumer_info(subjects.STREAM, durable)
        current = info.config.filter_subjects or ([info.config.filter_subject] if info.config.filter_subject else [])
        if info.delivered.stream_seq > tracked_seq or info.num_ack_pending or sorted(current) != sorted(filters):
            log.info("%s delivered up to %d, its projection is at %d: re-aligning",
                     durable, info.delivered.stream_seq, tracked_seq)
            await js.delete_consumer(subjects.STREAM, durable)
            raise NotFoundError
    except NotFoundError:
        start = ({"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": tracked_seq + 1}
                 if tracked_seq else {"deliver_policy": DeliverPolicy.ALL})
        which = {"filter_subject": filters[0]} if len(filters) == 1 else {"filter_subjects": filters}
        await js.add_consumer(subjects.STREAM, ConsumerConfig(
            durable_name=durable, name=durable, ack_policy=ack_policy, ack_wait=30.0,
            max_ack_pending=max_ack_pending, **which, **start))
    return await js.pull_subscribe_bind(stream=subjects.STREAM, durable=durable)
