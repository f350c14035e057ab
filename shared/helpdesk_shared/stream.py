"""The ``HELPDESK`` JetStream stream (CONTRACT §8): its one configuration and its message headers.

Every service that publishes to or reads from the stream may be the first to start,
so each creates it idempotently with the same configuration from here.
"""

from __future__ import annotations

import datetime as dt

from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from helpdesk_shared import subjects

POSITION_HEADER = "Helpdesk-Position"  # the global event-store position of a ticket message
DUPLICATE_WINDOW = dt.timedelta(minutes=10)


def stream_config() -> StreamConfig:
    """File storage, kept forever, deduplicated by ``Nats-Msg-Id`` within the window."""
    return StreamConfig(
        name=subjects.STREAM,
        subjects=subjects.STREAM_SUBJECTS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
    )


async def ensure_stream(js: JetStreamContext) -> None:
    """Create the ``HELPDESK`` stream if it is missing; an existing one is left as it is."""
    try:
        await js.stream_info(subjects.STREAM)
    except NotFoundError:
        try:
            await js.add_stream(stream_config())
        except Exception:  # noqa: BLE001 - another service created it meanwhile
            await js.stream_info(subjects.STREAM)
