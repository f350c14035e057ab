"""``GET /v1/stream``: server-sent events of the changes to the tickets the caller may see (CONTRACT §4).

Each event is ``event: change``, ``id: <position>`` and ``data: {ticket_id, type, position}``;
a client that reconnects with ``Last-Event-ID`` gets what it missed (replayed from the
event store), then the live changes. A comment line every ``keepalive`` seconds keeps
proxies from closing a quiet stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
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
    description="Resume: the id (position) of the last event received; what came after it is replayed first.")]
RETRY_AFTER_SECONDS = 5


def frame(change: Change) -> bytes:
    data = msgspec.json.encode({"ticket_id": change.ticket_id, "type": change.type, "position": change.position})
    return b"id: %d\nevent: change\ndata: %s\n\n" % (change.position, data)


def last_event_id(raw: str | None) -> int | None:
    """The position a reconnecting client saw last (the SSE ``Last-Event-ID``); 400 if it is not one."""
    if raw is None or not raw.strip():
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise Problem(400, "validation_failed", "Last-Event-ID must be a position (a non-negative integer)",
                      errors=[{"field": "Last-Event-ID", "message": "the id of the last event received"}])
    return int(raw)


async def events(feed: ChangeFeed, principal: Principal, ticket_id: str | None, after: int | None,
                 keepalive: float) -> AsyncIterator[bytes]:
    """The stream's bytes: the replay after ``after``, then live changes and keep-alives, until ended.

    It subscribes as it starts, so a response never sent holds no subscription.
    """
    subscription = feed.subscribe(principal, ticket_id)
    try:
        yield b"retry: 1000\n\n"
        sent = subscription.since if after is None else after
        try:
            async for change in feed.replay(subscription, sent):
                yield frame(change)
        except TooFarBehind as error:
            yield b"event: reset\ndata: %s\n\n" % msgspec.json.encode({"detail": str(error)})
        sent = max(sent, subscription.since)
        while (change := await subscription.next(keepalive)) is not None:
            if change is False:
                yield b": keep-alive\n\n"
            elif isinstance(change, Change) and change.position > sent:
                sent = change.position
                yield frame(change)
    finally:
        feed.unsubscribe(subscription)


class ChangeStream(Controller):
    path = "/v1/stream"
    tags = ["stream"]

    @get("/", media_type=EVENT_STREAM, responses={
        200: ResponseSpec(str, media_type=EVENT_STREAM, generate_examples=False,
                          description="Server-sent events: `id: <position>`, `event: change`, "
                                      "`data: {ticket_id, type, position}`; `event: reset` when a resume "
                                      "is too far behind (reload instead); `: keep-alive` comments."),
    })
    async def stream(self, request: Request[Any, Any, Any], principal: Principal, feed: ChangeFeed,
                     ticket_id: str | None = None, last_event: LastEventId = None) -> Response[Any]:
        """The changes to the tickets the caller may see (only ``ticket_id``'s if given), live;
        resumable with ``Last-Event-ID``. 503 ``not_ready`` while this replica serves its maximum of streams."""
        principal.require(*READERS)
        after = last_event_id(last_event)
        if feed.full():
            response = problem_response(503, "not_ready", "this replica serves as many streams as it may;"
                                        " retry later", request.url.path)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        keepalive = request.app.state.stream_keepalive
        return Stream(events(feed, principal, ticket_id, after, keepalive), media_type=EVENT_STREAM,
                      headers={"Content-Type": EVENT_STREAM, "Cache-Control": "no-cache",
                               "X-Accel-Buffering": "no"})
