"""Writing SLA facts into ``query.sla``, exactly once: rows and the tracked stream sequence together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from helpdesk_shared import sla_events as sla
from helpdesk_shared.parking import Parking, Rejected, StreamMessage

from helpdesk_query.adapters.schema import CONTROL, SLA_POSITION_CHANNEL
from helpdesk_query.domain.sla import SlaView, evolve

_view = msgspec.json.Decoder(SlaView)


class SlaProjection:
    """``query.sla`` as the stream runner drives it; a fact this version cannot decode is refused."""

    def __init__(self, parking_lock: int) -> None:
        self.parking = Parking(f"{CONTROL}.sla_parked", parking_lock)

    async def tracked(self, conn: psycopg.AsyncConnection[Any]) -> int:
        row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.sla_tracking")).fetchone()
        return int(row[0]) if row else 0

    async def apply(self, conn: psycopg.AsyncConnection[Any], msgs: Sequence[StreamMessage],
                    replay: bool = False) -> int:
        """Fold the messages past the tracked sequence (all of them on ``replay``); the number folded."""
        row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.sla_tracking FOR UPDATE")).fetchone()
        tracked = int(row[0]) if row else 0
        fresh = [_decoded(m) for m in msgs if replay or m.stream_seq > tracked]
        ids = sorted({e.subject for e in fresh})
        cursor = await conn.execute(f"SELECT ticket_id, view FROM {CONTROL}.sla WHERE ticket_id = ANY(%s)", (ids,))
        views = {r[0]: _view.decode(r[1]) for r in await cursor.fetchall()}
        for event in fresh:
            views[event.subject] = evolve(views.get(event.subject), event.data, event.sequence)  # type: ignore[attr-defined]
        async with conn.cursor() as cur:
            if fresh:
                await cur.executemany(
                    f"INSERT INTO {CONTROL}.sla (ticket_id, view) VALUES (%s, %s)"
                    " ON CONFLICT (ticket_id) DO UPDATE SET view = EXCLUDED.view",
                    [(tid, msgspec.json.encode(views[tid])) for tid in ids])
        await self.advance(conn, max([tracked, *(m.stream_seq for m in msgs)]), None)
        return len(fresh)

    async def advance(self, conn: psycopg.AsyncConnection[Any], stream_seq: int, position: int | None) -> None:
        await conn.execute(f"UPDATE {CONTROL}.sla_tracking SET stream_seq = greatest(stream_seq, %s)", (stream_seq,))
        # delivered on commit: reads waiting for an SLA mark (Helpdesk-Min-Position) wake up
        await conn.execute(f"SELECT pg_notify(%s, stream_seq::text) FROM {CONTROL}.sla_tracking",
                           (SLA_POSITION_CHANNEL,))


def _decoded(msg: StreamMessage) -> sla.SlaCloudEvent:
    try:
        return sla.decode(msg.payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise Rejected(f"undecodable: {error}") from None


async def sla_views(conn: psycopg.AsyncConnection[Any], ticket_ids: Sequence[str]) -> dict[str, SlaView]:
    """The folded sla views of these tickets (those the SLA service has spoken about)."""
    cursor = await conn.execute(f"SELECT ticket_id, view FROM {CONTROL}.sla WHERE ticket_id = ANY(%s)",
                                (list(ticket_ids),))
    return {r[0]: _view.decode(r[1]) for r in await cursor.fetchall()}
