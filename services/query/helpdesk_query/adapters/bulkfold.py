"""The rebuild's fold: stream messages into the rows of a new generation, in memory.

The projection's fold (``fold_messages``) makes a new frozen ``TicketView`` per event and the
write then encodes each view to JSON; over a whole stream that is most of the rebuild's
Python time. Here each ticket is a list of its column values (``TICKET_COLUMNS`` order) changed
in place, and each comment a row (``COMMENT_COLUMNS`` order) appended to one list, both ready
for the binary COPY (``bulkwrite``). Only the common facts take this path, with the fields
``evolve`` gives them: a ticket's opening (``opened`` itself), comments, time without a
norm-hours budget, priority, assignees, plan, and status moves of a ticket that waits on
no third party and count no budget. Every other message, and any that is a duplicate, held
back, undecodable, has a NUL, or names a ticket not opened (or opened twice), goes through
``fold_messages`` itself, on that ticket's view made from its row and back: the read model
is the same either way (tests/query/test_rebuild_bulk.py).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Visibility

from helpdesk_query.adapters.eventstore import StoredMessage
from helpdesk_query.adapters.projection import Outcome, fold_messages
from helpdesk_query.adapters.schema import TICKET_COLUMNS
from helpdesk_query.domain.ticket import TicketView, opened

_row_of = operator.attrgetter(*TICKET_COLUMNS)
_comment_of = operator.attrgetter("id", "author_id", "author_role", "body", "visibility", "action",
                                  "created_at", "position", "attachments")
_AT = {name: i for i, name in enumerate(TICKET_COLUMNS)}
_CUSTOMER, _STATUS, _VERSION, _UPDATED, _POSITION = (_AT[c] for c in ("customer_id", "status", "version",
                                                                      "updated_at", "position"))
_PRIORITY, _RESPONSIBLE, _OWNER, _DEPARTMENT = (_AT[c] for c in ("priority", "responsible_id", "owner_id",
                                                                 "department"))
_PLANNED_DATE, _PLANNED_MINUTES, _RELEASE = (_AT[c] for c in ("planned_date", "planned_minutes", "release"))
_SPENT, _BILLED, _THIRD_PARTY = (_AT[c] for c in ("spent_minutes", "billed_minutes", "third_party"))
_ACTION = {fact: name.rsplit(".", 1)[-1] for fact, name in ev.TICKET_EVENT_TYPES.items()}
_NUL = b"\\u0000"  # a NUL in a JSON string (PostgreSQL's text cannot hold one)
_payload = operator.itemgetter(2)
# a message as ``Reader.rows`` gives it: stream_seq, subject, payload, position
Row = tuple[int, str, bytes, int | None]


@dataclass
class Folded:
    """The rows a rebuild writes: each ticket's column values and every comment."""

    outcome: Outcome = field(default_factory=lambda: Outcome(0, 0))
    tickets: dict[str, list[Any]] = field(default_factory=dict)
    comments: list[tuple[Any, ...]] = field(default_factory=list)


def fold_rows(folded: Folded, rows: Sequence[Row]) -> None:
    """Fold ``rows`` (``Reader.rows``) into ``folded`` as ``fold_messages`` would fold those messages into views."""
    outcome, tickets, comments = folded.outcome, folded.tickets, folded.comments
    decode = ev.decode
    nul = _NUL in b"".join(map(_payload, rows))  # one scan: a NUL is rare (each one, otherwise)
    position, stream_seq, applied, held = outcome.position, outcome.stream_seq, outcome.applied, outcome.held
    for row in rows:
        try:
            event = decode(row[2])
        except (msgspec.DecodeError, msgspec.ValidationError):
            event = None
        if event is not None:
            fact = event.data
            ticket = tickets.get(fact.ticket_id)
            if (event.sequence > position and not (held and StoredMessage(*row).aggregate in held)
                    and not (nul and _NUL in row[2]) and _common(ticket, fact, event.sequence, comments)):
                if ticket is None:  # an opening: the rows of ``opened`` itself
                    tickets[fact.ticket_id] = list(_row_of(opened(fact, event.sequence)))  # type: ignore[arg-type]
                if row[0] > stream_seq:
                    stream_seq = row[0]
                position = event.sequence
                applied += 1
                continue
        outcome.position, outcome.stream_seq, outcome.applied = position, stream_seq, applied
        _fold_one(folded, StoredMessage(*row), None if event is None else event.data.ticket_id)
        position, stream_seq, applied, held = outcome.position, outcome.stream_seq, outcome.applied, outcome.held
    outcome.position, outcome.stream_seq, outcome.applied = position, stream_seq, applied


def _common(row: list[Any] | None, fact: ev.TicketFact, position: int, comments: list[tuple[Any, ...]]) -> bool:
    """Apply ``fact`` to ``row`` in place as ``evolve`` would and say so, or (False) leave it to ``evolve``."""
    kind = type(fact)
    if row is None:
        return kind is ev.TicketOpened
    if kind is ev.CommentAdded:
        comments.append((fact.ticket_id, fact.comment_id, fact.actor.id, fact.actor.role, fact.body,  # type: ignore[attr-defined]
                         fact.visibility, None, fact.occurred_at, position, fact.attachments))  # type: ignore[attr-defined]
    elif kind is ev.TimeLogged and fact.budget_month is None:  # type: ignore[attr-defined]
        row[_SPENT] += fact.minutes  # type: ignore[attr-defined]
        row[_BILLED] += fact.billed_minutes  # type: ignore[attr-defined]
    elif kind is ev.PriorityChanged:
        row[_PRIORITY] = fact.priority  # type: ignore[attr-defined]
    elif kind is ev.AssigneesChanged:
        row[_RESPONSIBLE], row[_OWNER], row[_DEPARTMENT] = fact.responsible_id, fact.owner_id, fact.department  # type: ignore[attr-defined]
    elif kind is ev.PlanChanged:
        row[_PLANNED_DATE], row[_PLANNED_MINUTES], row[_RELEASE] = (fact.planned_date, fact.planned_minutes,  # type: ignore[attr-defined]
                                                                    fact.release)  # type: ignore[attr-defined]
    elif (isinstance(fact, ev.StatusChange) and row[_THIRD_PARTY] is None
          and getattr(fact, "budget_month", None) is None):
        if fact.comment:
            comments.append((fact.ticket_id, f"{fact.ticket_id}.{fact.version}", fact.actor.id, fact.actor.role,
                             fact.comment, Visibility.PUBLIC, _ACTION[kind], fact.occurred_at, position, ()))
    else:
        return False
    row[_CUSTOMER], row[_STATUS], row[_VERSION] = fact.customer_id, fact.status, fact.version
    row[_UPDATED], row[_POSITION] = fact.occurred_at, position
    return True


def _fold_one(folded: Folded, msg: StoredMessage, ticket_id: str | None) -> None:
    """One message through the projection's own fold, on its ticket's view made from the row."""
    row = folded.tickets.get(ticket_id) if ticket_id is not None else None
    views = {} if row is None else {ticket_id: TicketView(**dict(zip(TICKET_COLUMNS, row, strict=True)))}
    fold_messages(views, [msg], folded.outcome)  # type: ignore[arg-type]
    for view in views.values():
        folded.tickets[view.id] = list(_row_of(view))
        folded.comments += [(view.id, *_comment_of(c)) for c in view.comments]
