"""The JetStream side of the relay: the ``HELPDESK`` stream and where the relay left off.

The stream itself is the relay's bookmark: the last ticket message carries the
``Helpdesk-Position`` it was made from, so a restarted relay resumes exactly
after it, however long it was down. ``Nats-Msg-Id`` (the event's stable id)
makes a republished message a no-op within the duplicate window.
"""

from __future__ import annotations

import datetime as dt

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from helpdesk_shared import subjects

POSITION_HEADER = "Helpdesk-Position"
DUPLICATE_WINDOW = dt.timedelta(minutes=10)


async def ensure_stream(js: JetStreamContext) -> None:
    """Create the ``HELPDESK`` stream if it is missing (file storage, kept forever)."""
    config = StreamConfig(
        name=subjects.STREAM,
        subjects=subjects.STREAM_SUBJECTS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
    )
    try:
        await js.stream_info(subjects.STREAM)
    except NotFoundError:
        await js.add_stream(config)


async def last_published_position(js: JetStreamContext) -> int:
    """The store position of the last ticket event in the stream (0 if none yet)."""
    try:
        message = await js.get_last_msg(subjects.STREAM, subjects.ALL_TICKET_EVENTS)
    except NotFoundError:
        return 0
    return int((message.headers or {}).get(POSITION_HEADER, 0))
