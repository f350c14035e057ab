"""Where answer → visible goes: three stages, timed on the machine's one wall clock.

1. answered → published: the command's answer (the bench) to the stream message of its
   position (the message's own JetStream timestamp, when the server stored it: the relay's hop);
2. published → committed: to the first ``helpdesk_query_position`` NOTIFY at or past the
   position (sent in the projector's transaction, delivered on its commit: the projector's hop);
3. committed → read: to the end of the read that waited for the position (query's wake-up,
   the read itself, and the client's own queueing).

The first stage can be negative by a little: the relay may publish before the answer is back.

With ``sla=True`` (the SLA service running: reads also wait for the ticket's deadlines) the read's
second path is timed too: published → SLA marked (the SLA service's mark in the ``helpdesk_marks``
KV bucket passes the position: its consumer, outbox and publisher), SLA marked → SLA committed
(query's SLA projection NOTIFYs that mark's stream sequence), and the read ends after both.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats
import psycopg
from nats.js.api import DeliverPolicy

from helpdesk_shared import subjects
from helpdesk_shared.sla_marks import BUCKET as MARKS_BUCKET
from helpdesk_shared.sla_marks import SLA_KEY, SlaMark
from helpdesk_shared.stream import POSITION_HEADER

POSITION_CHANNEL = "helpdesk_query_position"  # helpdesk_query.adapters.schema.POSITION_CHANNEL
SLA_CHANNEL = "helpdesk_query_sla_position"  # helpdesk_query.adapters.schema.SLA_POSITION_CHANNEL
STAGES = ("answered → published", "published → committed", "committed → read")
SLA_STAGES = ("answered → published", "published → committed", "published → SLA marked",
              "SLA marked → SLA committed", "both committed → read")


@dataclass
class Pipeline:
    """Follows the ticket stream and the read model's commits while a run lasts (``async with``)."""

    nats_url: str
    database_url: str
    published: dict[int, float] = field(default_factory=dict)  # store position → stream timestamp
    sla: bool = False
    committed: list[tuple[int, float]] = field(default_factory=list)  # (position, when heard), in order
    marks: list[tuple[int, float]] = field(default_factory=list)  # (mark's position, when heard), in order
    mark_seqs: list[int] = field(default_factory=list)  # each mark's stream sequence
    sla_committed: list[tuple[int, float]] = field(default_factory=list)  # (SLA stream sequence, when heard)

    async def __aenter__(self) -> Pipeline:
        self._nc = await nats.connect(self.nats_url)
        self._sub = await self._nc.jetstream().subscribe(
            subjects.ALL_TICKET_EVENTS, cb=self._on_message, ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW, headers_only=True)
        self._db = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        await self._db.execute(f"LISTEN {POSITION_CHANNEL}")
        if self.sla:
            await self._db.execute(f"LISTEN {SLA_CHANNEL}")
            # applied before the run: a mark whose facts are no newer is SLA-committed when it is marked
            row = await (await self._db.execute("SELECT stream_seq FROM query.sla_tracking")).fetchone()
            self.sla_committed.append((int(row[0]) if row else 0, float("-inf")))
            watch = await (await self._nc.jetstream().key_value(MARKS_BUCKET)).watch(SLA_KEY)
        self._listening = asyncio.gather(self._listen(), *([self._follow_marks(watch)] if self.sla else []))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.5)  # the last reads' messages and commits are in
        self._listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._listening
        await self._db.close()
        await self._sub.unsubscribe()
        await self._nc.close()

    async def _on_message(self, msg: nats.aio.msg.Msg) -> None:
        if position := (msg.headers or {}).get(POSITION_HEADER):
            self.published[int(position)] = msg.metadata.timestamp.timestamp()

    async def _listen(self) -> None:
        async for notify in self._db.notifies():
            heard, position = time.time(), int(notify.payload)
            _append(self.committed if notify.channel == POSITION_CHANNEL else self.sla_committed, position, heard)

    async def _follow_marks(self, watch: Any) -> None:
        async for entry in watch:
            if entry is not None and entry.value:
                mark = msgspec.json.decode(entry.value, type=SlaMark)
                if not self.marks or mark.position > self.marks[-1][0]:
                    self.marks.append((mark.position, time.time()))
                    self.mark_seqs.append(mark.stream_seq)

    def stages(self, reads: list[tuple[int, float, float]]) -> dict[str, list[float]]:
        """Milliseconds of each stage for every (position, answered, read) of the run whose every stage was seen."""
        split: dict[str, list[float]] = {name: [] for name in (SLA_STAGES if self.sla else STAGES)}
        for position, answered, read in reads:
            committed = _first(self.committed, position)
            if position not in self.published or committed is None:
                continue
            published = self.published[position]
            if not self.sla:
                times = (published - answered, committed - published, read - committed)
            else:
                at = bisect.bisect_left([p for p, _ in self.marks], position)
                if at == len(self.marks) or (sla := _first(self.sla_committed, self.mark_seqs[at])) is None:
                    continue
                marked = self.marks[at][1]
                sla = max(sla, marked)
                times = (published - answered, committed - published, marked - published, sla - marked,
                         read - max(committed, sla))
            for name, seconds in zip(split, times):
                split[name].append(seconds * 1000)
        return split


def _append(heard: list[tuple[int, float]], position: int, at: float) -> None:
    if not heard or position > heard[-1][0]:
        heard.append((position, at))


def _first(heard: list[tuple[int, float]], position: int) -> float | None:
    """When the first of ``heard`` at or past ``position`` came (None: none did)."""
    at = bisect.bisect_left(heard, (position, float("-inf")))
    return heard[at][1] if at < len(heard) else None
