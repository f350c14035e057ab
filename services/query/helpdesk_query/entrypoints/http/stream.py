"""``GET /v1/stream``: server-sent events of the changes to the tickets the caller may see (CONTRACT §4).

A ticket event is ``event: change`` with ``data: {ticket_id, type, position}``; an SLA fact
(once the SLA projection has applied it) is ``event: sla`` with ``data: {ticket_id, type, kind,
sequence}`` (``sequence``: its stream sequence). Every ``id`` is ``<position>:<sequence>``, the
two cursors; a client that reconnects with that ``Last-Event-ID`` gets what it missed of both
(replayed from the event store), then the live ones. A bare ``<position>`` (the id before SLA
facts were carried) resumes the ticket events and joins the SLA facts live. A comment line
every ``keepalive`` seconds keeps proxies from closing a quiet stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter
from litestar.response import Stream

from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem, problem_response

from helpdesk_query.adapters.changes import Change, ChangeFeed, TooFarBehind
from helpdesk_query.application import READERS

EVENT_STREAM = "text/event-stream"
LastEventId = Annotated[str | None, HeaderParameter(
    name="Last-Event-ID", required=False,
    description="Resume: the id of the last event received (`<position>:<sequence>`, or a bare position);"
                " what came after it is replayed first.")]
RETRY_AFTER_SECONDS = 5
STREAM_POSITION = "Helpdesk-Stream-Position"
STREAM_POSITION_HEADER = ResponseHeader(
    name=STREAM_POSITION, value="1042:77", documentation_only=True,  # the value: its schema (a string)
    description="Where this process's `/v1/stream` stood before the read (`<position>:<sequence>`, a stream id):"
                " a page opens its stream with it as `Last-Event-ID` and misses no change after what it shows.")
SignedIn = Callable[[], Awaitable[bool]]  # whether the caller's token still holds


def frame(change: Change, sla_sent: int = 0) -> bytes:
    """A ticket event's frame; its id also carries ``sla_sent``, the SLA facts' cursor."""
    data = msgspec.json.encode({"ticket_id": change.ticket_id, "type": change.type, "position": change.position})
    return b"id: %d:%d\nevent: change\ndata: %s\n\n" % (change.position, sla_sent, data)


def sla_frame(change: Change, sent: int) -> bytes:
    """An SLA fact's frame; its id also carries ``sent``, the ticket events' cursor."""
    data = msgspec.json.encode({"ticket_id": change.ticket_id, "type": change.type, "kind": change.kind,
                                "sequence": change.position})
    return b"id: %d:%d\nevent: sla\ndata: %s\n\n" % (sent, change.position, data)


def last_event_id(raw: str | None) -> int | None:
    """The position a reconnecting client saw last (the SSE ``Last-Event-ID``); 400 if it is not one."""
    if raw is None or not raw.strip():
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise Problem(400, "validation_failed", "Last-Event-ID must be a position (a non-negative integer)",
                      errors=[{"field": "Last-Event-ID", "message": "the id of the last event received"}])
    return int(raw)


def resume_point(raw: str | None) -> tuple[int | None, int | None]:
    """The two cursors of a ``Last-Event-ID`` (``<position>:<sequence>``, or a bare ``<position>``); 400 if not."""
    position, colon, sequence = (raw or "").partition(":")
    if not colon:
        return last_event_id(raw), None
    both = [last_event_id(part if part.strip() else "none") for part in (position, sequence)]  # both required
    return both[0], both[1]


async def events(feed: ChangeFeed, principal: Principal, ticket_id: str | None, after: int | None,
                 keepalive: float, signed_in: SignedIn, sla_after: int | None = None) -> AsyncIterator[bytes]:
    """The stream's bytes: the replay after ``after`` (and ``sla_after``), then live changes and keep-alives.

    It subscribes as it starts, so a response never sent holds no subscription. Every
    ``keepalive`` seconds it checks the caller's token again: an expired one ends the stream.
    """
    subscription = feed.subscribe(principal, ticket_id)
    try:
        yield b"retry: 1000\n\n"
        sent = subscription.since if after is None else after
        sla_sent = subscription.sla_since if sla_after is None else sla_after
        async for chunk in _replay(feed.replay(subscription, sent), lambda c: frame(c, sla_sent)):
            yield chunk  # all at or before where it joined
        sent = max(sent, subscription.since)
        async for chunk in _replay(feed.replay_sla(subscription, sla_sent), lambda c: sla_frame(c, sent)):
            yield chunk
        sla_sent, checked = max(sla_sent, subscription.sla_since), time.monotonic()
        while (change := await subscription.next(keepalive)) is not None:
            if time.monotonic() - checked >= keepalive:
                if not await signed_in():
                    return
                checked = time.monotonic()
            if change is False:
                yield b": keep-alive\n\n"
            elif isinstance(change, Change) and change.sla and change.position > sla_sent:
                sla_sent = change.position
                yield sla_frame(change, sent)
            elif isinstance(change, Change) and not change.sla and change.position > sent:
                sent = change.position
                yield frame(change, sla_sent)
    finally:
        feed.unsubscribe(subscription)


async def _replay(changes: AsyncIterator[Change], framed: Callable[[Change], bytes]) -> AsyncIterator[bytes]:
    """The frames of what a subscription missed, or ``event: reset`` if too many."""
    try:
        async for change in changes:
            yield framed(change)
    except TooFarBehind as error:
        yield b"event: reset\ndata: %s\n\n" % msgspec.json.encode({"detail": str(error)})


class ChangeStream(Controller):
    path = "/v1/stream"
    tags = ["stream"]

    @get("/", media_type=EVENT_STREAM, responses={
        200: ResponseSpec(str, media_type=EVENT_STREAM, generate_examples=False,
                          description="Server-sent events: `id: <position>:<sequence>`; `event: change` with "
                                      "`data: {ticket_id, type, position}` (a ticket event); `event: sla` with "
                                      "`data: {ticket_id, type, kind, sequence}` (an SLA fact: a target set, at "
                                      "risk, breached, met…); `event: reset` when a resume is too far behind "
                                      "(reload instead); `: keep-alive` comments."),
    })
    async def stream(self, request: Request[Any, Any, Any], principal: Principal, feed: ChangeFeed,
                     ticket_id: str | None = None, last_event: LastEventId = None) -> Response[Any]:
        """The changes to the tickets the caller may see (only ``ticket_id``'s if given), live;
        resumable with ``Last-Event-ID``. 503 ``not_ready`` while this replica serves its maximum of streams."""
        principal.require(*READERS)
        after, sla_after = resume_point(last_event)
        if feed.full():
            response = problem_response(503, "not_ready", "this replica serves as many streams as it may;"
                                        " retry later", request.url.path)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        keepalive = request.app.state.stream_keepalive
        frames = events(feed, principal, ticket_id, after, keepalive, _signed_in(request), sla_after)
        return Stream(frames, media_type=EVENT_STREAM,
                      headers={"Content-Type": EVENT_STREAM, "Cache-Control": "no-cache",
                               "X-Accel-Buffering": "no"})


def _signed_in(request: Request[Any, Any, Any]) -> SignedIn:
    """Whether the token the stream was opened with is still good (not expired, its key not removed)."""
    authenticator, authorization = request.app.state.authenticator, request.headers.get("authorization")

    async def check() -> bool:
        try:
            await authenticator.verify(authorization)
        except Problem:
            return False
        return True
    return check
