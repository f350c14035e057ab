"""The ``HELPDESK`` JetStream stream (CONTRACT §8): its one configuration and its message headers.

Every service that publishes to or reads from the stream may be the first to start,
so each creates it idempotently with the same configuration from here; its copies
across a cluster and its limits come from settings (``StreamLimits``), and a stream
created with others is brought to them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from helpdesk_shared import subjects

log = logging.getLogger("helpdesk.stream")
POSITION_HEADER = "Helpdesk-Position"  # the global event-store position of a ticket message
DUPLICATE_WINDOW = dt.timedelta(minutes=10)
INHERIT_REPLICAS = 0  # a durable consumer with 0 replicas has the stream's, and is rescaled with it
RESCALE_WAIT = 15.0  # seconds ensure_stream waits, at most, for the copies of a stream it scaled up to be current


@dataclass(frozen=True)
class StreamLimits:
    """How many copies of the stream a cluster keeps, and how old or large it may grow (0 / -1: no limit)."""

    replicas: int = 1
    max_age_days: int = 0
    max_bytes: int = -1

    @classmethod
    def of(cls, settings: Any) -> StreamLimits:
        """From a service's ``CommonSettings`` (``HELPDESK_STREAM_REPLICAS``, ``…_MAX_AGE_DAYS``, ``…_MAX_BYTES``)."""
        max_bytes = settings.stream_max_bytes
        return cls(settings.stream_replicas, settings.stream_max_age_days, max_bytes if max_bytes > 0 else -1)

    @property
    def max_age_seconds(self) -> float:
        return dt.timedelta(days=self.max_age_days).total_seconds()  # 0: JetStream keeps messages forever

    def applied_to(self, config: StreamConfig) -> StreamConfig:
        return replace(config, num_replicas=self.replicas, max_bytes=self.max_bytes, max_age=self.max_age_seconds)

    def differ_from(self, config: StreamConfig) -> bool:
        return ((config.num_replicas or 1, config.max_bytes or -1, config.max_age or 0.0)
                != (self.replicas, self.max_bytes, self.max_age_seconds))


def stream_config(limits: StreamLimits = StreamLimits()) -> StreamConfig:
    """File storage, deduplicated by ``Nats-Msg-Id`` within the window, replicated and limited as set, with
    atomic batches for the relay's windows (nats-server 2.12+; an older server ignores the field)."""
    return limits.applied_to(StreamConfig(
        name=subjects.STREAM,
        subjects=subjects.STREAM_SUBJECTS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        allow_atomic=True,
    ))


async def ensure_stream(js: JetStreamContext, limits: StreamLimits | None = None) -> StreamConfig:
    """Create the ``HELPDESK`` stream if it is missing; bring an existing one to ``limits``, the subject
    trees and atomic batches. The stream's configuration as the server now holds it.

    JetStream changes replicas and limits of a live stream in place: scaling up copies it to
    the new peers, and durable consumers (which inherit the stream's replicas) follow; it returns
    once every copy is current (``RESCALE_WAIT`` at most), so a publish right after finds a leader. Without
    ``limits`` (tools, tests) a new stream gets the defaults and an existing one keeps its own.
    A server older than 2.12 answers without ``allow_atomic``: the relay then publishes one at a time.
    """
    try:
        info = await js.stream_info(subjects.STREAM)
    except NotFoundError:
        try:
            return (await js.add_stream(stream_config(limits or StreamLimits()))).config
        except BadRequestError:  # another service created it meanwhile (else: a bad setting, raised below)
            info = await js.stream_info(subjects.STREAM)
    config = info.config
    missing = [s for s in subjects.STREAM_SUBJECTS if s not in (config.subjects or [])]
    if missing:
        log.info("adding subjects %s to stream %s", missing, subjects.STREAM)
        config = replace(config, subjects=[*(config.subjects or []), *missing])
    if limits is not None and limits.differ_from(config):
        log.warning("stream %s: replicas %s, max bytes %s, max age %s s -> %s", subjects.STREAM,
                    config.num_replicas, config.max_bytes, config.max_age, limits)
        config = limits.applied_to(config)
    if not config.allow_atomic:
        config = replace(config, allow_atomic=True)
    if config is not info.config:
        updated = await js.update_stream(config=config)
        if (updated.config.num_replicas or 1) > (info.config.num_replicas or 1):
            await _wait_for_copies(js, subjects.STREAM)
        return updated.config
    return config


def copies_current(info: StreamInfo) -> bool:
    """Whether the stream has a leader and every copy its configuration asks for, each current and not lagging
    (a stream on a single server always has)."""
    if info.cluster is None:
        return True
    followers = info.cluster.replicas or []
    return (info.cluster.leader is not None and len(followers) + 1 >= (info.config.num_replicas or 1)
            and all(peer.current and not peer.lag and not peer.offline for peer in followers))


async def _wait_for_copies(js: JetStreamContext, stream: str) -> None:
    """Until the copies of ``stream`` are current, ``RESCALE_WAIT`` at most: right after scaling up it has
    no leader while the new peers join, and a publish then (an atomic batch above all) times out."""
    deadline = time.monotonic() + RESCALE_WAIT
    while time.monotonic() < deadline:
        try:
            if copies_current(await js.stream_info(stream)):
                return
        except (TimeoutError, ServiceUnavailableError):  # no leader to answer yet (nats' timeout is a TimeoutError)
            pass
        await asyncio.sleep(0.05)
    log.warning("stream %s: its copies were not all current within %.0f s of scaling up", stream, RESCALE_WAIT)


async def ensure_replicas(js: JetStreamContext, stream: str, replicas: int) -> None:
    """Bring the stream behind a KV bucket or object store to ``replicas`` copies (created before with others),
    returning once they are current, as ``ensure_stream`` does."""
    info = await js.stream_info(stream)
    if (info.config.num_replicas or 1) != replicas:
        log.warning("stream %s: replicas %s -> %s", stream, info.config.num_replicas, replicas)
        await js.update_stream(config=replace(info.config, num_replicas=replicas))
        if replicas > (info.config.num_replicas or 1):
            await _wait_for_copies(js, stream)


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
    by an older version, and one behind its projection (after a rebuild or a restore),
    which would otherwise deliver again everything the projection already holds, only
    for each message to be skipped. Several filter subjects keep their messages in stream order.
    """
    filters = [filter_subject] if isinstance(filter_subject, str) else list(filter_subject)
    await _warn_if_dropped(js, durable, tracked_seq)
    try:
        info = await js.consumer_info(subjects.STREAM, durable)
        current = info.config.filter_subjects or ([info.config.filter_subject] if info.config.filter_subject else [])
        behind = info.delivered.stream_seq < tracked_seq
        if (info.delivered.stream_seq > tracked_seq or behind or info.num_ack_pending
                or sorted(current) != sorted(filters)):
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
            max_ack_pending=max_ack_pending, num_replicas=INHERIT_REPLICAS, **which, **start))
    return await js.pull_subscribe_bind(stream=subjects.STREAM, durable=durable)


async def _warn_if_dropped(js: JetStreamContext, durable: str, tracked_seq: int) -> None:
    """Say so when the stream's limits dropped messages this consumer never took in: it needs a rebuild."""
    first = (await js.stream_info(subjects.STREAM)).state.first_seq
    if first > tracked_seq + 1:
        log.warning("%s is at stream sequence %d but the stream begins at %d (HELPDESK_STREAM_MAX_AGE_DAYS or "
                    "…_MAX_BYTES dropped the rest): its projection misses them until rebuilt",
                    durable, tracked_seq, first)
