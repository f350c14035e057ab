"""The event-log export use case (CARD-8): who may export, and which stream messages a range covers.

A range of store positions ``[first, last]`` covers, in stream order, the events relayed
from the store at those positions and the SLA facts published between them — the same
messages ``GET /v1/events?after=first-1`` pages through up to position ``last``, so
consecutive ranges neither repeat nor skip an SLA fact. Reads go through one ephemeral
push consumer with flow control, in batches: memory stays flat whatever the range.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from helpdesk_shared import subjects
from helpdesk_shared.web.auth import Principal

from helpdesk_query.adapters.eventstore import EventStream, StoredMessage
from helpdesk_query.application import Queries
from helpdesk_query.domain.export import ExportRange

BATCH = 1000  # messages a chunk of the answer holds at most
HELD = 2 * BATCH  # messages read ahead at most: a download goes at its reader's pace, the rest waits in NATS


@dataclass(frozen=True)
class Span:
    """The stream sequences an export reads: from ``start`` to ``end`` (None: to the end of the log now)."""

    start: int
    end: int | None


async def span_of(queries: Queries, principal: Principal, within: ExportRange) -> Span:
    """The stream span of a range; auditors and admins only (403 otherwise), before anything is sent."""
    queries.may_export(principal)
    stream = queries.stream
    start = await stream.seq_after_store(within.first - 1) if within.first and within.first > 1 else 1
    end = await stream.seq_after_store(within.last) - 1 if within.last is not None else None
    return Span(start, end)


async def messages(stream: EventStream, span: Span, batch: int = BATCH
                   ) -> AsyncIterator[Sequence[StoredMessage]]:
    """The span's messages in stream order, a batch at a time."""
    if span.end is not None and span.end < span.start:
        return
    async with stream.reader(subjects.EVERYTHING, start_seq=span.start) as reader:
        reader.HIGH_WATER = HELD
        async for found in reader.batches(None, batch):
            if span.end is not None and found[-1].stream_seq > span.end:
                yield [m for m in found if m.stream_seq <= span.end]
                return
            yield found
