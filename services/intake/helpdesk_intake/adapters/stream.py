"""Where the relay left off: the stream itself is its bookmark.

The last message relayed from the store (of any of the trees it publishes) carries the ``Helpdesk-Position`` it was made from, so a
restarted relay resumes exactly after it, however long it was down.
``Nats-Msg-Id`` (the event's stable id) makes a republished message a no-op
within the stream's duplicate window.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream

__all__ = ["POSITION_HEADER", "ensure_stream", "last_published_position"]


async def last_published_position(js: JetStreamContext) -> int:
    """The store position of the last event relayed to the stream (0 if none yet)."""
    position = 0
    for prefix in subjects.STORE_PREFIXES:
        try:
            message = await js.get_last_msg(subjects.STREAM, f"{prefix}.>")
        except NotFoundError:
            continue
        position = max(position, int((message.headers or {}).get(POSITION_HEADER, 0)))
    return position
