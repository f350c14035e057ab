"""The query use cases, with who may see what (CONTRACT §2, §4).

Admins, agents, auditors and services see every ticket; a customer's employee
sees only its customer's tickets (another's is "not found") and never internal
comments, neither in the ticket nor in its history, nor the files that came with them.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.clock import Clock, SystemClock
from helpdesk_shared.policies import Policy
from helpdesk_shared.vocabulary import Role, Status, Visibility
from helpdesk_shared.workflow import WORKFLOW, Action
from helpdesk_shared.web.auth import Principal

from helpdesk_query.adapters.attachments import AttachmentStore
from helpdesk_query.adapters.contracts import ContractBook
from helpdesk_query.adapters.eventstore import EventStream, StoredMessage, valid_ticket_id
from helpdesk_query.adapters.projection import decode, view_from_row
from helpdesk_query.adapters.readmodel import ORDERS, ReadModel, TicketFilter
from helpdesk_query.adapters.ticket_log import TicketLog
from helpdesk_query.domain import backlog
from helpdesk_query.domain.actions import actions_for, delivery
from helpdesk_query.domain.sla import SlaView
from helpdesk_query.domain.sla import fold as fold_sla
from helpdesk_query.domain.sla import present as sla_block
from helpdesk_query.domain.contracts import unused_months
from helpdesk_query.domain.hours import report_row
from helpdesk_query.domain.ticket import Comment, TicketView, attachments, fold

READERS = (Role.ADMIN, Role.AGENT, Role.AUDITOR, Role.SERVICE, Role.CUSTOMER)
EXPORTERS = (Role.ADMIN, Role.AUDITOR)


class TicketNotFound(Exception):
    """No such ticket, or not one this caller may see."""


class BadCursor(Exception):
    """The cursor was not made by this service for this order."""


class AttachmentNotFound(Exception):
    """The ticket refers to no such file this caller may see, or the store has lost its bytes."""

    def __init__(self, ticket_id: str, attachment_id: str) -> None:
        super().__init__(f"no attachment {attachment_id} on ticket {ticket_id}")


def present(view: TicketView, principal: Principal, with_comments: bool = True,
            sla: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ticket as the API shows it to ``principal`` (``sla``: its block at the read instant).

    With its comments (the detail) it also lists every file it refers to that the
    caller may see, each with the comment it came with and where to download it.
    """
    if with_comments:
        body = msgspec.to_builtins(view)  # its comments and files too, in the one call (issue 16)
        comments, opening = body.pop("comments"), body.pop("attachments")
        body["comments"], body["attachments"] = _shown(view, principal, comments, opening)
    else:
        body = msgspec.to_builtins(msgspec.structs.replace(view, comments=(), attachments=()))
        del body["comments"], body["attachments"]
    body["incomplete"] = view.incomplete
    body["sla"] = sla or {"policy": view.policy, "paused": False, "untriaged": False, "targets": []}
    return body


def _shown(view: TicketView, principal: Principal, comments: list[dict[str, Any]],
           opening: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Of the ticket's comments and opening files (``view``'s, as builtins), those ``principal`` may see, each
    file with its ``url``; and every such file with the comment it came with (None: the opening), as
    ``domain.ticket.attachments`` lists them."""
    files = f"/v1/tickets/{_segment(view.id)}/attachments/"
    for file in opening:
        file["url"] = files + _segment(file["id"])
    listed = [{**file, "comment_id": None} for file in opening]
    shown = []
    for comment, fields in zip(view.comments, comments, strict=True):
        if not _may_see(principal, comment):
            continue
        fields["attachments"] = list(fields["attachments"])  # a list, as ever: to_builtins leaves a tuple a tuple
        for file in fields["attachments"]:
            file["url"] = files + _segment(file["id"])
            listed.append({**file, "comment_id": comment.id})
        shown.append(fields)
    return shown, listed


@functools.lru_cache(maxsize=4096)
def _segment(value: str) -> str:
    """``value`` as one segment of a path (a file's id is the same on every read of its ticket)."""
    return quote(value, safe="")


def _public_only(principal: Principal) -> bool:
    return principal.role == Role.CUSTOMER


def _may_see(principal: Principal, comment: Comment) -> bool:
    return not _public_only(principal) or comment.visibility == Visibility.PUBLIC


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
    """List, detail, as_of, history, attachments and export."""

    def __init__(self, readmodel: ReadModel, stream: EventStream, files: AttachmentStore,
                 clock: Clock | None = None, calendars: Mapping[str, BusinessCalendar] | None = None,
                 policies: Mapping[str, Policy] | None = None, measures: Mapping[str, str] | None = None) -> None:
        self.readmodel = readmodel
        self.stream = stream
        self.ticket_log = TicketLog(stream)  # each ticket's messages, kept: a page reads its history per load
        self.files = files
        self.clock = clock or SystemClock()
        self.calendars = calendars or {}
        self.policies = policies or {}
        self.measures = measures or {}  # each policy's norm-hours measure (planned or spent, MED-12)
        self.contracts = ContractBook(stream)  # whose month has a budget though nothing was used yet

    async def hours(self, principal: Principal, month: str | None, customer_id: str | None) -> dict[str, Any]:
        """The norm-hours report of a month (MED-12): a customer sees only its own."""
        if principal.role == Role.CUSTOMER:
            customer_id = principal.customer_id or ""  # the route refuses another customer's id
        month = month or self.clock.now().strftime("%Y-%m")
        rows = await self.readmodel.hours(month, customer_id)
        if customer_id is None or not rows:  # a customer with a budget shows 0 used of it, not nothing
            rows = sorted([*rows, *unused_months(await self.contracts.histories(), month, self.policies,
                                                 {str(r["customer_id"]) for r in rows}, customer_id)],
                          key=lambda r: str(r["customer_id"]))
        items = [report_row(row, self.measures.get(str(row["policy"]), "planned")) for row in rows]
        if customer_id is not None and not items:  # a month with nothing consumed yet
            items = [report_row({"customer_id": customer_id, "month": month, "budget_minutes": None,
                                 "planned_minutes": 0, "used_minutes": 0}, "planned")]
        return {"month": month, "items": items}

    def _sla_block(self, found: SlaView | None, policy: str | None, at: dt.datetime) -> dict[str, Any]:
        """An sla block as it reads at ``at``: business time left on its policy's calendar."""
        policy = (found.policy if found else None) or policy
        return sla_block(found, policy, self.calendars.get(policy or ""), at)

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
        views = [view_from_row({k: r[k] for k in r if k not in ("queue_rank", "_sla")}) for r in rows]
        now = self.clock.now()
        items = [present(v, principal, False, self._sla_block(self.readmodel.sla_view(r["_sla"]), v.policy, now))
                 for v, r in zip(views, rows, strict=True)]
        return {"items": items, "next_cursor": encode_cursor(order, rows[-1]) if more else None}

    async def ticket(self, principal: Principal, ticket_id: str) -> dict[str, Any]:
        """The ticket now, with the ``allowed_actions`` of the caller; staff also see ``held_back: true``
        while an event of it is parked (the row lags)."""
        principal.require(*READERS)
        found = await self.readmodel.ticket_page(ticket_id)
        if found is None or not _owns(principal, found.view.customer_id):
            raise TicketNotFound(ticket_id)
        view = found.view
        body = present(view, principal, sla=self._sla_block(found.sla, view.policy, self.clock.now()))
        body["allowed_actions"] = await self._allowed_actions(principal, view, body["sla"]["policy"])
        if principal.role != Role.CUSTOMER and found.held_back:
            body["held_back"] = True
        return body

    async def _allowed_actions(self, principal: Principal, view: TicketView, policy: str | None) -> list[str]:
        """What ``principal`` may do to the ticket now (the one workflow table decides).

        Only a ticket the caller might return to work needs its history: when its solution was
        delivered (KS-8's window counts from there).
        """
        delivered = done = None
        move = WORKFLOW[Action.RETURN_TO_WORK]
        if view.status in move.sources and principal.role in move.roles:
            delivered, done = delivery(e.data for _, e in await self._facts(view.id))
        return actions_for(principal.role, view.status, view.category, self.policies.get(policy or ""),
                           self.clock.now(), delivered, done, view)

    async def _live(self, principal: Principal, ticket_id: str) -> TicketView:
        """The ticket with its comments from the read model, if ``principal`` may see it."""
        principal.require(*READERS)
        found = await self.readmodel.ticket(ticket_id)
        if found is None or not _owns(principal, found[0]["customer_id"]):
            raise TicketNotFound(ticket_id)
        row, comments = found
        return view_from_row(row, [msgspec.convert(c, Comment) for c in comments])

    async def attachment(self, principal: Principal, ticket_id: str, attachment_id: str) -> ev.Attachment:
        """A file the ticket refers to, if the caller may see the ticket and the comment it came with."""
        view = await self._live(principal, ticket_id)
        for attachment, _ in attachments(view, _public_only(principal)):
            if attachment.id == attachment_id:
                return attachment
        raise AttachmentNotFound(ticket_id, attachment_id)

    async def content(self, ticket_id: str, attachment: ev.Attachment) -> bytes:
        """The bytes of a file ``attachment`` gave access to."""
        found = await self.files.fetch(attachment.id)
        if found is None:
            raise AttachmentNotFound(ticket_id, attachment.id)
        return found

    async def _facts(self, ticket_id: str) -> list[tuple[StoredMessage, ev.CloudEvent]]:
        if not valid_ticket_id(ticket_id):
            raise TicketNotFound(ticket_id)
        found = []
        for msg in await self.ticket_log.messages(ticket_id):
            event = decode(msg)
            if not isinstance(event, str):
                found.append((msg, event))
        return found

    async def _sla_facts(self, ticket_id: str) -> list[tuple[sla.SlaFact, int]]:
        found = []
        for msg in await self.stream.sla(ticket_id):
            try:
                event = sla.decode(msg.payload)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # not a fact this version knows, as in the SLA projection
            found.append((event.data, event.sequence))
        return found

    async def ticket_as_of(self, principal: Principal, ticket_id: str, instant: dt.datetime) -> dict[str, Any]:
        """The ticket and its sla block as they stood at ``instant``, folded from the event store (CARD-8)."""
        principal.require(*READERS)
        view = fold(((e.data, e.sequence) for _, e in await self._facts(ticket_id)), until=instant)
        if view is None or not _owns(principal, view.customer_id):
            raise TicketNotFound(ticket_id)
        block = self._sla_block(fold_sla(await self._sla_facts(ticket_id), until=instant), view.policy, instant)
        return {**present(view, principal, sla=block), "as_of": instant.isoformat()}

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

    async def backlog(self, principal: Principal, customer_id: str | None) -> dict[str, Any]:
        """Open tickets by status and age band now; a customer's employee counts its customer's only."""
        principal.require(*READERS)
        if principal.role == Role.CUSTOMER:
            customer_id = principal.customer_id or ""  # an employee of no customer counts nothing
        now = self.clock.now()
        counts = await self.readmodel.backlog(backlog.cutoffs(now), backlog.BANDS[-1][0],
                                              [s.value for s in backlog.OPEN], customer_id)
        return backlog.report(counts, now, customer_id)

    def may_export(self, principal: Principal) -> None:
        """Only auditors and admins export the event log (403 otherwise)."""
        principal.require(*EXPORTERS)

    async def events(self, principal: Principal, after: int, limit: int | None,
                     batch: int = 2000) -> AsyncIterator[Sequence[StoredMessage]]:
        """The whole event log after store position ``after``, in order, as the stream holds it.

        Every family (tickets, directory, mail outcomes, SLA facts), in stream order. SLA facts
        number their own ``sequence``: a page is resumed from the last relayed event's, so an SLA
        fact just after it may come again (its ``id`` says it is the same).
        """
        self.may_export(principal)
        start = await self.stream.seq_after_store(after) if after else 1
        async with self.stream.reader(subjects.EVERYTHING, start_seq=start) as reader:
            async for msgs in reader.batches(limit, batch):
                yield msgs
