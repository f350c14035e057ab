"""Read-your-writes at 200 commands/s (#16 item 3): a waiting read costs the stream little, and is never early."""

from __future__ import annotations

import asyncio
from typing import Any

from helpdesk_shared.sla_marks import SLA_KEY, SlaMark, open_marks, put_mark
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream

from helpdesk_query.adapters.positions import SlaMarks, StreamCoverage


async def _publish(js: Any, subject: str, position: int) -> None:
    await js.publish(subject, b"{}", headers={POSITION_HEADER: str(position)})


async def test_visibility_one_coverage_probe_for_all_waiting_reads(js: Any) -> None:
    """Forty reads waiting on a position of no ticket event ask the stream once between them, not each."""
    await ensure_stream(js)
    await _publish(js, "helpdesk.ticket.t1.opened", 5)
    await _publish(js, "helpdesk.customer.c1.registered", 7)
    asked: list[int] = []
    coverage = StreamCoverage(lambda: asked.append(1) or js, every=60)
    answers = await asyncio.gather(*(coverage.covered(5, 7) for _ in range(40)))
    assert answers == [True] * 40
    assert len(asked) == 2  # the store's newest position, then the newest ticket event's: one probe


async def test_visibility_coverage_is_never_early(js: Any) -> None:
    """Covered only once the relay has published past the position and every ticket event is applied."""
    await ensure_stream(js)
    await _publish(js, "helpdesk.ticket.t1.opened", 5)
    await _publish(js, "helpdesk.customer.c1.registered", 7)
    coverage = StreamCoverage(lambda: js, every=0)
    assert not await coverage.covered(4, 7)  # the ticket event at 5 is not applied yet
    assert not await coverage.covered(5, 9)  # nothing is published at or past 9
    assert await coverage.covered(5, 7)
    await _publish(js, "helpdesk.ticket.t1.accepted", 8)
    await _publish(js, "helpdesk.user.u1.registered", 9)
    assert not await coverage.covered(5, 9)  # the ticket event at 8 stands between
    assert await coverage.covered(8, 9)


async def test_visibility_one_sla_mark_read_for_all_waiting_reads(js: Any) -> None:
    """Forty reads waiting for the SLA's mark read it from NATS once between them, and all see it."""
    marks = SlaMarks(refresh_every=60)
    marks._kv = kv = await open_marks(js)
    await put_mark(kv, SlaMark(position=12, stream_seq=30))
    gets: list[str] = []
    get = kv.get

    async def counted(key: str) -> Any:
        gets.append(key)
        return await get(key)

    kv.get = counted  # type: ignore[method-assign]
    await asyncio.gather(*(marks.refresh() for _ in range(40)))
    assert gets == [SLA_KEY]
    assert marks.seen and marks.positions.position == 12 and marks.stream_seq_for(12) == 30
    await put_mark(kv, SlaMark(position=20, stream_seq=41))
    await marks.refresh()  # within refresh_every of the last read: no second read
    assert gets == [SLA_KEY] and marks.positions.position == 12


def test_perf_sla_wait_takes_the_first_mark_past_the_position_never_an_earlier_one() -> None:
    """A read waits for the SLA facts up to the first mark that passed its position, not the newest mark's
    (which may include later positions' facts); never less: a mark that did not reach it says nothing."""
    marks = SlaMarks()
    for position, stream_seq in ((5, 10), (9, 20), (14, 30)):
        marks.take(SlaMark(position, stream_seq))
    assert [marks.stream_seq_for(p) for p in (1, 5, 6, 9, 10, 14)] == [10, 10, 20, 20, 30, 30]
    assert marks.stream_seq_for(15) == 30  # beyond the newest mark (not reached yet): the newest sequence
    for position in range(15, 15 + 2 * SlaMarks.KEPT):  # older marks are forgotten, the answer stays safe
        marks.take(SlaMark(position, position * 2))
    assert marks.stream_seq_for(5) == marks.stream_seq_for(14) >= 30
