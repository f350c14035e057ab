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

A count proves that only while no message has left the stream: a max age, or a subject
purged by hand and then appended to, could give the same count with newer messages. The
same ``stream_info`` tells how many messages ever left the stream (last sequence − messages);
when that moved since the ticket was kept, one direct get of the ticket's last message decides.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from nats.js.api import StreamState
from nats.js.errors import NotFoundError

from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER

from helpdesk_query.adapters.eventstore import EventStream, StoredMessage, valid_ticket_id


@dataclass(frozen=True)
class Kept:
    """A ticket's messages as read, and what the stream held when that was proven complete."""

    messages: list[StoredMessage]
    count: int  # the ticket's messages the stream held (its subject index's count)
    removed: int  # the messages that had ever left the stream (age, purge, delete)


class TicketLog:
    """The newest ``size`` tickets read, each with its messages in stream order."""

    def __init__(self, stream: EventStream, size: int = 2000) -> None:
        self.stream, self.size = stream, size
        self._kept: OrderedDict[str, Kept] = OrderedDict()

    async def messages(self, ticket_id: str) -> list[StoredMessage]:
        """Every message of the ticket, oldest first (empty if there is none; that is not kept)."""
        if not valid_ticket_id(ticket_id):
            return await self.stream.ticket(ticket_id)
        kept, state = self._kept.get(ticket_id), await self._state(ticket_id)
        if kept is None:
            found, newer = [], await self.stream.ticket(ticket_id)
        else:
            found, newer = kept.messages, await self._newer(ticket_id, kept, state)
        if found or newer:
            self._keep(ticket_id, Kept(found + newer, _held(state, newer), _removed(state)))
        return found + newer

    def _keep(self, ticket_id: str, kept: Kept) -> None:
        self._kept[ticket_id] = kept
        self._kept.move_to_end(ticket_id)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    async def _state(self, ticket_id: str) -> StreamState:
        """The stream's state with the ticket's subjects counted (from its subject index: cheap)."""
        subject = f"{subjects.TICKET_PREFIX}.{ticket_id}.>"
        return (await self.stream.js.stream_info(subjects.STREAM, subjects_filter=subject)).state

    async def _newer(self, ticket_id: str, kept: Kept, state: StreamState) -> list[StoredMessage]:
        """The ticket's messages after the kept ones: the count says whether there are any while nothing
        has left the stream since they were kept; otherwise the ticket's last sequence does."""
        last = kept.messages[-1].stream_seq
        if _removed(state) == kept.removed:
            grew = _count(state) != kept.count
        else:
            grew = await self._last_seq(ticket_id) > last
        return await self._after(ticket_id, last) if grew else []

    async def _last_seq(self, ticket_id: str) -> int:
        """The stream sequence of the ticket's newest message (0: none), one direct get."""
        try:
            raw = await self.stream.js.get_last_msg(subjects.STREAM, f"{subjects.TICKET_PREFIX}.{ticket_id}.>")
        except NotFoundError:
            return 0
        return int(raw.seq)

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


def _count(state: StreamState) -> int:
    """The ticket's messages the stream held (``state`` taken with the ticket's subjects as its filter)."""
    return sum((state.subjects or {}).values())


def _held(state: StreamState, newer: list[StoredMessage]) -> int:
    """The ticket's messages the stream holds: those ``state`` counted, and those read after it was taken."""
    return _count(state) + sum(m.stream_seq > (state.last_seq or 0) for m in newer)


def _removed(state: StreamState) -> int:
    """How many messages ever left the stream: every sequence given out less the messages still held."""
    return int(state.last_seq or 0) - int(state.messages or 0)
