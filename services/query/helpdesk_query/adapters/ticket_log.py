"""A ticket's messages in the event store, kept per ticket for the reads that fold them (history,
``allowed_actions``' delivery, ``as_of``).

Reading a ticket through an ephemeral consumer costs a consumer created and deleted on the
server each time; a ticket page reads its history on every load. The first read of a ticket
still does that; later ones ask the stream only for what came after the last message kept
(one direct get, ``next_by_subj``, answered "none" when nothing did), so a kept ticket is
never staler than the stream. The stream is append-only: what was kept stays true.

That direct get scans the stream from the kept sequence on: for an old ticket it cost the
NATS server milliseconds per read, growing with the stream. So it is asked only when the
stream's count of the ticket's messages (its subject index, one cheap ``stream_info``) says
there are more than the kept ones.
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
            newer = await self._after(ticket_id, kept[-1].stream_seq) if await self._grew(ticket_id, kept) else []
            found = kept + newer
        if found:
            self._kept[ticket_id] = found
            self._kept.move_to_end(ticket_id)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found

    async def _grew(self, ticket_id: str, kept: list[StoredMessage]) -> bool:
        """False when the stream holds exactly the kept messages of the ticket (none purged since, none newer)."""
        subject = f"{subjects.TICKET_PREFIX}.{ticket_id}.>"
        state = (await self.stream.js.stream_info(subjects.STREAM, subjects_filter=subject)).state
        purged = kept[0].stream_seq < state.first_seq  # a max age removed some: counts prove nothing
        return purged or sum((state.subjects or {}).values()) != len(kept)

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
