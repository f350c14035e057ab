"""Live updates: the browser's event source is this route, which relays query's ``GET /v1/stream`` with the
user's token (the portal adds no privilege). Each change becomes an ``event: change`` whose data is the
ticket id; pages listening (htmx's SSE extension) fetch their fragment again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from litestar import Request, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.domain.session import User

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
# where the page was rendered: the Helpdesk-Stream-Position of its read, a stream id (position:sequence)
Since = Annotated[str | None, Parameter(pattern=r"^[0-9]{1,18}(:[0-9]{1,18})?$", description=(
    "the stream id the page was read at: the stream starts after it, so nothing since the render is missed"))]


@get("/live", sync_to_thread=False)
def live(request: Request[Any, Any, Any], user: User, api: Api, ticket: str | None = None,
         since: Since = None) -> ServerSentEvent:
    """Changes to the tickets the user may see (``ticket``: to that one only) after ``since`` (where the page
    was read), or after the browser's ``Last-Event-ID`` when it reconnects (what it received last)."""
    return ServerSentEvent(changes(api, user, ticket, request.headers.get("last-event-id") or since))


async def changes(api: Api, user: User, only: str | None, last_id: str | None) -> AsyncIterator[ServerSentEventMessage]:
    try:
        async with api.stream(user.token, last_id, only) as upstream:
            async for event_id, ticket_id in relayed(upstream.aiter_lines()):
                yield ServerSentEventMessage(data=ticket_id or only or "", event="change", id=event_id)
    except httpx.HTTPError:
        return  # query went away: the browser's event source reconnects (retry) and resumes
    except ApiError as error:
        if error.status != 404:
            yield ServerSentEventMessage(data=error.code, event="gone")
            return
        async for message in polled(api, user, only):  # a query without the stream yet: look every second
            yield message


async def relayed(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str | None, str]]:
    """(event id, ticket id) of each upstream event; comments and keep-alives are dropped."""
    event_id, data = None, []
    async for line in lines:
        if line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield event_id, ticket_of("\n".join(data))
            data = []


def ticket_of(data: str) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return data
    if isinstance(body, dict):
        return str(body.get("ticket_id") or body.get("subject") or body.get("id") or "")
    return str(body)


async def polled(api: Api, user: User, only: str | None) -> AsyncIterator[ServerSentEventMessage]:
    """The fallback: the newest activity the user can see, every second; a change is announced."""
    seen = None
    while True:
        try:
            if only:
                latest = await api.read(user.token, f"/v1/tickets/{only}")
            else:
                items = (await api.read(user.token, "/v1/tickets", params={"order": "-updated", "limit": 1})).get("items")
                latest = items[0] if items else {}
        except ApiError as error:
            yield ServerSentEventMessage(data=error.code, event="gone")
            return
        mark = (latest.get("id"), latest.get("version"), latest.get("position"))
        if seen is not None and mark != seen:
            yield ServerSentEventMessage(data=str(latest.get("id")), event="change", id=str(latest.get("position")))
        seen = mark
        await asyncio.sleep(POLL_SECONDS)


ROUTES = [live]
