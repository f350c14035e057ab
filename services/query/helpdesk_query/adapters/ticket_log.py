"""A ticket's messages in the event store, kept per ticket for the reads that fold them (history,
``allowed_actions``' delivery, ``as_of``).

Reading a ticket through an ephemeral consumer costs a consumer created and deleted on the
server each time; a ticket page reads its history on every load. The first read of a ticket
still does that; later ones ask the stream only for what came after the last message kept
(one direct get, ``next_by_subj``, answered "none" when nothing did), so a kept ticket is
never staler than the stream. The stream is append-only: what was kept stays true.
"""

from __future__ import annotations

from collections import OrderedDict

from nats.js.errors import NotFoundError

from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER

from helpdesk_query.adapters.eventstore import EventStream, StoredMessage, valid_ticket_id


class TicketLog:
    """The newest ``size`` tickets read, each with its messages in stream order."""

    def __init__(self, stream: EventStream, size: int = 2000) -> None:
        self.stream, self.size = stream, size
        self._kept: OrderedDict[str, list[StoredMessage]] = OrderedDict()

    async def messages(self, ticket_id: str) -> list[StoredMessage]:
        """Every message of the ticket, oldest first (empty if there is none; that is not kept)."""
        kept = self._kept.get(ticket_id)
        if kept is None or not valid_ticket_id(ticket_id):
            found = await self.stream.ticket(ticket_id)
        else:
            found = kept + await self._after(ticket_id, kept[-1].stream_seq)
        if found:
            self._kept[ticket_id] = found
            self._kept.move_to_end(ticket_id)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found

    async def _after(self, ticket_id: str, seq: int) -> list[StoredMessage]:
        """The ticket's messages after stream sequence ``seq``, one direct get each (usually none)."""
        subject, found = f"{subjects.TICKET_PREFIX}.{ticket_id}.>", []
        while True:
            try:
                raw = await self.stream.js.get_msg(subjects.STREAM, seq=seq + 1, subject=subject, next=True)
            except NotFoundError:
                return found
            header = (raw.headers or {}).get(POSITION_HEADER)
            found.append(StoredMessage(raw.seq, raw.subject, raw.data,
                                       int(header) if header is not None and header.isdigit() else None))
            seq = raw.seq
