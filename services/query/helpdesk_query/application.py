"""The query use cases, with who may see what (CONTRACT §2, §4).

Admins, agents, auditors and services see every ticket; a customer's employee
sees only its customer's tickets (another's is "not found") and never internal
comments, neither in the ticket nor in its history.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.clock import Clock, SystemClock
from helpdesk_shared.vocabulary import Role, Visibility
from helpdesk_shared.web.auth import Principal

from helpdesk_query.adapters.eventstore import EventStream, StoredMessage, valid_ticket_id
from helpdesk_query.adapters.projection import decode, view_from_row
from helpdesk_query.adapters.readmodel import ORDERS, ReadModel, TicketFilter
from helpdesk_query.domain.sla import present as sla_block
from helpdesk_query.domain.ticket import Comment, TicketView, fold

READERS = (Role.ADMIN, Role.AGENT, Role.AUDITOR, Role.SERVICE, Role.CUSTOMER)
EXPORTERS = (Role.ADMIN, Role.AUDITOR)


class TicketNotFound(Exception):
    """No such ticket, or not one this caller may see."""


class BadCursor(Exception):
    """The cursor was not made by this service for this order."""


def present(view: TicketView, principal: Principal, with_comments: bool = True,
            sla: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ticket as the API shows it to ``principal`` (``sla``: its block at the read instant)."""
    body = msgspec.to_builtins(msgspec.structs.replace(view, comments=()))
    del body["comments"]
    if with_comments:
        body["comments"] = [msgspec.to_builtins(c) for c in view.comments if _may_see(principal, c)]
    body["sla"] = sla or {"policy": view.policy, "paused": False, "targets": []}
    return body


def _may_see(principal: Principal, comment: Comment) -> bool:
    return principal.role != Role.CUSTOMER or comment.visibility == Visibility.PUBLIC


def _owns(principal: Principal, customer_id: str) -> bool:
    return principal.role != Role.CUSTOMER or (principal.customer_id or None) == customer_id


def encode_cursor(order: str, row: dict[str, Any]) -> str:
    keys, _ = ORDERS[order]
    values = [row[k].isoformat() if isinstance(row[k], dt.datetime) else row[k] for k in keys]
    return base64.urlsafe_b64encode(msgspec.json.encode([order, *values])).decode().rstrip("=")


def decode_cursor(order: str, cursor: str) -> list[Any]:
    keys, _ = ORDERS[order]
    try:
        raw = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or raw[0] != order or len(raw) != len(keys) + 1:
            raise ValueError
        return [dt.datetime.fromisoformat(v) if k.endswith("_at") else v for k, v in zip(keys, raw[1:], strict=True)]
    except (ValueError, TypeError, IndexError, msgspec.DecodeError):
        raise BadCursor(f"cursor does not belong to order={order}") from None


class Queries:
    """List, detail, as_of, history and export."""

    def __init__(self, readmodel: ReadModel, stream: EventStream, clock: Clock | None = None,
                 calendars: Mapping[str, BusinessCalendar] | None = None) -> None:
        self.readmodel = readmodel
        self.stream = stream
        self.clock = clock or SystemClock()
        self.calendars = calendars or {}

    async def _sla_blocks(self, views: Sequence[TicketView]) -> dict[str, dict[str, Any]]:
        """Each ticket's sla block as it reads now: remaining time on its policy's calendar."""
        found = await self.readmodel.sla([v.id for v in views])
        now = self.clock.now()
        return {v.id: sla_block(found.get(v.id), v.policy, self.calendars.get(v.policy or ""), now) for v in views}

    async def list_tickets(self, principal: Principal, where: TicketFilter, order: str, limit: int,
                           cursor: str | None) -> dict[str, Any]:
        principal.require(*READERS)
        if principal.role == Role.CUSTOMER:
            if where.customer_id not in (None, principal.customer_id) or not principal.customer_id:
                return {"items": [], "next_cursor": None}
            where = dataclasses.replace(where, customer_id=principal.customer_id)
        if where.sla_state is not None:
            where = dataclasses.replace(where, now=self.clock.now())
        after = decode_cursor(order, cursor) if cursor else None
        rows = await self.readmodel.tickets(where, order, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        views = [view_from_row({k: r[k] for k in r if k != "queue_rank"}) for r in rows]
        blocks = await self._sla_blocks(views)
        items = [present(v, principal, False, blocks[v.id]) for v in views]
        return {"items": items, "next_cursor": encode_cursor(order, rows[-1]) if more else None}

    async def ticket(self, principal: Principal, ticket_id: str) -> dict[str, Any]:
        principal.require(*READERS)
        found = await self.readmodel.ticket(ticket_id)
        if found is None or not _owns(principal, found[0]["customer_id"]):
            raise TicketNotFound(ticket_id)
        row, comments = found
        view = view_from_row(row, [msgspec.convert(c, Comment) for c in comments])
        return present(view, principal, sla=(await self._sla_blocks([view]))[view.id])

    async def _facts(self, ticket_id: str) -> list[tuple[StoredMessage, ev.CloudEvent]]:
        if not valid_ticket_id(ticket_id):
            raise TicketNotFound(ticket_id)
        found = []
        for msg in await self.stream.ticket(ticket_id):
            event = decode(msg)
            if not isinstance(event, str):
                found.append((msg, event))
        return found

    async def ticket_as_of(self, principal: Principal, ticket_id: str, instant: dt.datetime) -> dict[str, Any]:
        """The ticket as it stood at ``instant``, folded from the event store (CARD-8)."""
        principal.require(*READERS)
        view = fold(((e.data, e.sequence) for _, e in await self._facts(ticket_id)), until=instant)
        if view is None or not _owns(principal, view.customer_id):
            raise TicketNotFound(ticket_id)
        return {**present(view, principal), "as_of": instant.isoformat()}

    async def history(self, principal: Principal, ticket_id: str) -> dict[str, Any]:
        """Every event of the ticket, oldest first, from the event store."""
        principal.require(*READERS)
        facts = await self._facts(ticket_id)
        if not facts or not _owns(principal, facts[-1][1].data.customer_id):
            raise TicketNotFound(ticket_id)
        items = [
            {"position": e.sequence, "type": ev.event_type(e.data), "time": e.time,
             "actor": msgspec.to_builtins(e.data.actor), "data": msgspec.to_builtins(e.data)}
            for _, e in facts
            if not (principal.role == Role.CUSTOMER and isinstance(e.data, ev.CommentAdded)
                    and e.data.visibility == Visibility.INTERNAL)
        ]
        return {"ticket_id": ticket_id, "items": items}

    def may_export(self, principal: Principal) -> None:
        """Only auditors and admins export the event log (403 otherwise)."""
        principal.require(*EXPORTERS)

    async def events(self, principal: Principal, after: int, limit: int | None,
                     batch: int = 2000) -> AsyncIterator[Sequence[bytes]]:
        """The event log after ``after``, in order, as the CloudEvents the stream holds."""
        self.may_export(principal)
        start = await self.stream.seq_after(after) if after else 1
        async with self.stream.reader(start_seq=start) as reader:
            async for msgs in reader.batches(limit, batch):
                yield [m.payload for m in msgs]
