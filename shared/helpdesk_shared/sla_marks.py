"""The SLA's read-your-writes mark (CONTRACT §4): how far the SLA's facts are on the stream.

The SLA publisher records in the NATS KV bucket ``helpdesk_marks``, key ``sla``, the
highest ticket-store position whose SLA facts are all on the stream (it read its
consumer's tracked position, then drained the outbox) and the stream sequence those
facts reach. Query holds a read with ``Helpdesk-Min-Position: n`` until the mark has
passed n and its own SLA projection has applied that stream sequence, so a ticket read
with the position its opening answered already shows its deadlines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

BUCKET = "helpdesk_marks"
SLA_KEY = "sla"
log = logging.getLogger("helpdesk.marks")


class SlaMark(msgspec.Struct, frozen=True):
    """Every SLA fact caused by ticket events up to ``position`` is on the stream at or below ``stream_seq``."""

    position: int
    stream_seq: int


async def open_marks(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The marks' KV bucket, created on first use by whichever service comes first."""
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        with contextlib.suppress(Exception):  # another service may create it at the same moment
            return await js.create_key_value(bucket=BUCKET, history=1, replicas=replicas)
        return await js.key_value(BUCKET)


async def put_mark(kv: KeyValue, mark: SlaMark) -> None:
    await kv.put(SLA_KEY, msgspec.json.encode(mark))


async def follow_marks(kv: KeyValue, on_mark: Callable[[SlaMark], None]) -> None:
    """Call ``on_mark`` with the current mark and every later one (until cancelled)."""
    watcher = await kv.watch(SLA_KEY)
    async for entry in watcher:
        if entry is not None and entry.value:
            try:
                on_mark(msgspec.json.decode(entry.value, type=SlaMark))
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                log.warning("ignoring an unreadable SLA mark: %s", error)
