"""Where the relay left off: the stream itself is its bookmark.

The last message relayed from the store (of any of the trees it publishes) carries
the ``Helpdesk-Position`` it was made from, so a restarted relay resumes exactly
after it, however long it was down. ``Nats-Msg-Id`` (the event's stable id) makes a
republished message a no-op within the stream's duplicate window.
"""

from __future__ import annotations

from helpdesk_shared.stream import POSITION_HEADER, StreamLimits, ensure_stream
from helpdesk_shared.stream import last_store_position as last_published_position

__all__ = ["POSITION_HEADER", "StreamLimits", "ensure_stream", "last_published_position"]
