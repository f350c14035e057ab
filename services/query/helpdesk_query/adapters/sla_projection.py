"""Writing SLA facts into ``query.sla``, exactly once: rows and the tracked stream sequence together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from helpdesk_shared import sla_events as sla

from helpdesk_query.adapters.schema import CONTROL
from helpdesk_query.domain.sla import SlaView, evolve

_view = msgspec.json.Decoder(SlaView)


async def apply_sla_batch(conn: psycopg.AsyncConnection[Any], msgs: Sequence[tuple[int, bytes]]) -> tuple[int, int]:
    """Fold ``(stream_seq, payload)`` messages past the tracked sequence; (applied, skipped)."""
    row = await (await conn.execute(f"SELECT stream_seq FROM {CONTROL}.sla_tracking FOR UPDATE")).fetchone()
    tracked = int(row[0]) if row else 0
    fresh: list[sla.SlaCloudEvent] = []
    skipped = 0
    for seq, payload in msgs:
        if seq <= tracked:
            continue
        tracked = seq
        try:
            fresh.append(sla.decode(payload))
        except (msgspec.DecodeError, msgspec.ValidationError):
            skipped += 1  # not a fact this version knows: nothing to fold
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
        await cur.execute(f"UPDATE {CONTROL}.sla_tracking SET stream_seq = %s", (tracked,))
    return len(fresh), skipped


async def sla_views(conn: psycopg.AsyncConnection[Any], ticket_ids: Sequence[str]) -> dict[str, SlaView]:
    cursor = await conn.execute(f"SELECT ticket_id, view FROM {CONTROL}.sla WHERE ticket_id = ANY(%s)",
                                (list(ticket_ids),))
    return {r[0]: _view.decode(r[1]) for r in await cursor.fetchall()}
