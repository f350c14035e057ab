"""The query API's routes (CONTRACT §4): thin adapters from HTTP to the use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Stream

from helpdesk_shared.catalogue import FACTS_BY_TYPE
from helpdesk_shared.vocabulary import Category, Channel, Priority, Status
from helpdesk_shared.web.answer import Answer
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem

from helpdesk_query.adapters.eventstore import StoredMessage
from helpdesk_query.adapters.readmodel import ORDERS, TicketFilter
from helpdesk_query.application import Queries
from helpdesk_query.entrypoints.http import download
from helpdesk_query.entrypoints.http.backlog import BacklogReport
from helpdesk_query.entrypoints.http.consistency import wait_for_min_position
from helpdesk_query.entrypoints.http.export import EventLogExport
from helpdesk_query.entrypoints.http.reports import ReportQueries
from helpdesk_query.entrypoints.http.schemas import event_data_schema
from helpdesk_query.entrypoints.http.stream import STREAM_POSITION, STREAM_POSITION_HEADER, ChangeStream

NDJSON = "application/x-ndjson"
SLA_STATES = ("running", "paused", "at_risk", "met", "breached", "unplanned")
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]


def _choices(name: str, values: list[str] | None, allowed: Any) -> tuple[str, ...]:
    """Repeated or comma-separated values of a filter, each one of ``allowed``."""
    chosen = tuple(v for item in values or () for v in item.split(",") if v)
    valid = {str(a) for a in allowed}
    if bad := [v for v in chosen if v not in valid]:
        raise Problem(400, "validation_failed", f"{name}: unknown value {bad[0]!r}",
                      errors=[{"field": name, "message": f"one of {sorted(valid)}"}])
    return chosen


def _instant(value: str) -> dt.datetime:
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise Problem(400, "validation_failed", "as_of must be an RFC 3339 instant with an offset",
                      errors=[{"field": "as_of", "message": "e.g. 2026-03-01T09:30:00Z"}])
    return instant


class TicketQueries(Controller):
    """The ticket reads. The two hot ones (a ticket, a list) take ``queries`` and ``feed`` from the app's
    state, set once at start-up: a second and third dependency beside ``principal`` would be resolved
    in an anyio task group on every request (litestar runs a batch of dependencies concurrently)."""

    path = "/v1/tickets"
    tags = ["tickets"]
    before_request = wait_for_min_position
    opt = {"min_position": True}  # documents Helpdesk-Min-Position (helpdesk_shared.web.openapi)

    @get("/", response_headers=[STREAM_POSITION_HEADER])
    async def list_tickets(
        self, principal: Principal, state: State,
        status: list[str] | None = None, priority: list[str] | None = None,
        category: list[str] | None = None, customer_id: str | None = None,
        assignee_id: str | None = None, sla_state: str | None = None, unplanned: bool | None = None,
        q: Annotated[str | None, Parameter(max_length=500)] = None,
        order: str = "-created", limit: Limit = 50, cursor: str | None = None,
        third_party: bool | None = None,
        release_id: Annotated[str | None, Parameter(max_length=200)] = None,
        number: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00]*$",
                                                    description="the ticket with this number")] = None,
        channel: list[str] | None = None,
    ) -> Response[dict[str, Any]]:
        """Tickets, filtered; ``order=queue`` is the work queue (priority, then oldest: MED-2, TEL-2, KS-3),
        without deferred tickets (TEL-9); ``third_party=true``: those waiting on a third party (END-5);
        ``channel``: those that came in by these channels (``channel=chat``: the open chats, TEL-5).

        ``unplanned=true``: open tickets not awaiting the customer without a plan — no planned date, no
        release promised or bound by the SLA — or with a release-bound target no release is planned for
        (IMC-7, IMC-9); ``unplanned=false``: the others. ``release_id``: the tickets bound to that release —
        promised for it, or with an SLA target due at its date (IMC-9). ``Helpdesk-Stream-Position``: where
        the stream stood before the read (a live page resumes from it).
        """
        queries, at = state.queries, state.feed.cursor()
        _choices("order", [order], ORDERS)
        if sla_state is not None:
            _choices("sla_state", [sla_state], SLA_STATES)
        where = TicketFilter(
            status=_choices("status", status, Status), priority=_choices("priority", priority, Priority),
            category=_choices("category", category, Category), channel=_choices("channel", channel, Channel),
            customer_id=customer_id,
            assignee_id=assignee_id, sla_state=sla_state, unplanned=unplanned, q=q.strip() if q else None,
            third_party=third_party, release_id=release_id, number=number.strip() if number else None)
        return Response(await queries.list_tickets(principal, where, order, limit, cursor),
                        headers={STREAM_POSITION: at})

    @get("/{ticket_id:str}", response_headers=[STREAM_POSITION_HEADER])
    async def ticket(self, ticket_id: str, principal: Principal, state: State,
                     as_of: str | None = None) -> Response[dict[str, Any]]:
        """The ticket now (with ``Helpdesk-Stream-Position``: where the stream stood before the read), or
        with ``as_of`` as it stood then, rebuilt from the event store (CARD-8)."""
        queries: Queries = state.queries
        if as_of is not None:
            return Response(await queries.ticket_as_of(principal, ticket_id, _instant(as_of)))
        at = state.feed.cursor()
        return Answer(await queries.ticket(principal, ticket_id), headers={STREAM_POSITION: at})

    @get("/{ticket_id:str}/history")
    async def history(self, ticket_id: str, principal: Principal, queries: Queries) -> dict[str, Any]:
        """Every event of the ticket, oldest first: position, type, time, actor and data."""
        return await queries.history(principal, ticket_id)

    @get("/{ticket_id:str}/attachments/{attachment_id:str}", media_type=download.FALLBACK_TYPE)
    async def attachment(self, request: Request[Any, Any, Any], ticket_id: str, attachment_id: str,
                         principal: Principal, queries: Queries) -> Response[bytes]:
        """A file of the ticket, as a download, for those who may see the ticket and the comment it came with."""
        found = await queries.attachment(principal, ticket_id, attachment_id)
        if download.not_modified(request.headers.get("if-none-match"), download.etag(found)):
            return Response(b"", status_code=304, headers=download.headers(found))
        return download.download(found, await queries.content(ticket_id, found))


class EventExport(Controller):
    path = "/v1/events"
    tags = ["events"]
    before_request = wait_for_min_position
    opt = {"min_position": True}

    @get("/")
    async def events(
        self, request: Request[Any, Any, Any], principal: Principal, queries: Queries,
        after: Annotated[int, Parameter(ge=0)] = 0,
        limit: Annotated[int | None, Parameter(ge=1, le=10_000_000)] = None,
    ) -> Any:
        """The event log after ``after`` in order, as CloudEvents; NDJSON streams any range (auditor, admin)."""
        queries.may_export(principal)
        if NDJSON in request.headers.get("accept", ""):
            # the handler's own media type would win over the Stream's: name it in the header
            return Stream(_ndjson(queries.events(principal, after, limit)), media_type=NDJSON,
                          headers={"Content-Type": NDJSON})
        page, next_after = await _page(queries.events(principal, after, None), min(limit or 100, 1000))
        return Response({"items": [msgspec.Raw(m.payload) for m in page], "next_after": next_after})


async def _page(batches: AsyncIterator[Sequence[StoredMessage]], limit: int) -> tuple[list[StoredMessage], int | None]:
    """About ``limit`` messages, ending on an event relayed from the store, and the position to go on after.

    SLA facts carry no store position, so a page never ends on one: the next page, which starts
    right after the page's last relayed event, then neither repeats nor skips any of them.
    """
    page: list[StoredMessage] = []
    last_relayed: int | None = None
    async for batch in batches:
        for message in batch:
            if len(page) >= limit and last_relayed is not None:
                return page[:last_relayed + 1], page[last_relayed].position
            page.append(message)
            if message.position is not None:
                last_relayed = len(page) - 1
                if len(page) > limit:  # a long run of SLA facts, then the first relayed event
                    return page, message.position
    return page, None


async def _ndjson(batches: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for batch in batches:
        yield b"".join(message.payload + b"\n" for message in batch)


# parameters whose values the OpenAPI document lists
ENUMS = {"sla_state": SLA_STATES, "order": ORDERS, "event_type": FACTS_BY_TYPE}
CONTROLLERS = [TicketQueries, EventExport, ChangeStream, BacklogReport, ReportQueries, event_data_schema]
CONTROLLERS.append(EventLogExport)
