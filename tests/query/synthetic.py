"""Synthetic ticket histories published straight to the HELPDESK stream, as the relay would.

Used by the projection tests and by bench/query.py: valid facts in a plausible
mix (openings, triage, comments public and internal, some with files, time, workflow moves), with
store positions that rise with gaps, like intake's notification log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Iterator

import msgspec
from nats.js import JetStreamContext

from helpdesk_shared import events as ev
from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream
from helpdesk_shared.vocabulary import Category, Channel, Priority, Role, Status, Visibility

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WORDS = ["принтер", "не печатает", "ошибка", "отчёт", "printer", "invoice", "login fails",
         "медленно", "database", "сервер", "backup", "обновление", "crash", "лицензия"]
_MOVES = [  # (fact class, from, to)
    (ev.Accepted, Status.NEW, Status.IN_PROGRESS),
    (ev.ClarificationRequested, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER),
    (ev.ClarificationReceived, Status.AWAITING_CUSTOMER, Status.IN_PROGRESS),
    (ev.SolutionProposed, Status.IN_PROGRESS, Status.CUSTOMER_TESTING),
    (ev.SolutionAccepted, Status.CUSTOMER_TESTING, Status.DONE),
]


class Ticket:
    def __init__(self, rng: random.Random, customer_id: str) -> None:
        self.id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.customer_id = customer_id
        self.version = 0
        self.status = Status.NEW
        self.number = ""


def histories(tickets: int, events_per_ticket: int = 4, customers: int = 20, seed: int = 7,
              start_position: int = 1) -> Iterator[ev.CloudEvent]:
    """Interleaved histories of ``tickets`` tickets, about ``events_per_ticket`` events each."""
    rng = random.Random(seed)
    customer_ids = [f"cust-{i}" for i in range(customers)]
    live: list[Ticket] = []
    position, opened, remaining = start_position, 0, tickets * events_per_ticket
    while remaining > 0 or opened < tickets:
        if opened < tickets and (not live or rng.random() < 1 / events_per_ticket):
            ticket = Ticket(rng, rng.choice(customer_ids))
            opened += 1
            ticket.number = f"HD-{opened:06d}"
            live.append(ticket)
            fact: ev.TicketFact = _opened(rng, ticket, _at(position))
        else:
            ticket = rng.choice(live)
            fact = _next_fact(rng, ticket, _at(position))
        remaining -= 1
        yield ev.wrap(fact, event_id=f"{ticket.id}.{fact.version}", sequence=position, number=ticket.number)
        position += rng.choice((1, 1, 1, 2))  # gaps: store events with no public face


def _at(position: int) -> dt.datetime:
    return START + dt.timedelta(seconds=position * 7)


def _common(ticket: Ticket, rng: random.Random, when: dt.datetime, role: Role = Role.AGENT) -> dict:
    ticket.version += rng.choice((1, 1, 2))
    actor = ev.Actor(id=f"{role.value}-{rng.randrange(5)}", role=role)
    return dict(ticket_id=ticket.id, customer_id=ticket.customer_id, version=ticket.version,
                status=ticket.status, actor=actor, occurred_at=when)


def _opened(rng: random.Random, ticket: Ticket, when: dt.datetime) -> ev.TicketFact:
    words = rng.sample(WORDS, 3)
    return ev.TicketOpened(**_common(ticket, rng, when, Role.CUSTOMER), number=ticket.number,
                           subject=" ".join(words[:2]),
                           description=f"{words[2]} — подробности {rng.random()}",
                           channel=rng.choice(list(Channel)), priority=rng.choice(list(Priority)),
                           category=rng.choice([None, *Category]), policy="medis",
                           attachments=_files(ticket.number) if ticket.number.endswith(("3", "7")) else ())


def _next_fact(rng: random.Random, ticket: Ticket, when: dt.datetime) -> ev.TicketFact:
    roll = rng.random()
    moves = [m for m in _MOVES if m[1] == ticket.status]
    if moves and roll < 0.3:
        kind, source, target = moves[0]
        ticket.status = target
        return kind(**_common(ticket, rng, when), from_status=source,
                    comment=rng.choice([None, "см. вложение"]))
    if roll < 0.55:
        role = rng.choice((Role.AGENT, Role.CUSTOMER))
        visibility = Visibility.INTERNAL if role == Role.AGENT and rng.random() < 0.4 else Visibility.PUBLIC
        common = _common(ticket, rng, when, role)
        return ev.CommentAdded(**common, comment_id=uuid.uuid4().hex, body=rng.choice(WORDS), visibility=visibility,
                               attachments=_files(f"{ticket.id}.{ticket.version}") if ticket.version % 3 == 0 else ())
    if roll < 0.7:
        minutes = rng.randrange(5, 120)
        return ev.TimeLogged(**_common(ticket, rng, when), entry_id=uuid.uuid4().hex, minutes=minutes,
                             billed_minutes=max(30, -(-minutes // 30) * 30))
    if roll < 0.8:
        return ev.PriorityChanged(**_common(ticket, rng, when), priority=rng.choice(list(Priority)))
    if roll < 0.9:
        return ev.AssigneesChanged(**_common(ticket, rng, when), responsible_id=f"agent-{rng.randrange(5)}",
                                   owner_id=f"agent-{rng.randrange(5)}", department="support")
    return ev.PlanChanged(**_common(ticket, rng, when), planned_minutes=rng.randrange(30, 600),
                          planned_date=(when + dt.timedelta(days=3)).date(), release="2026.4")


def _files(seed: str) -> tuple[ev.Attachment, ...]:
    """A file described as intake would (its bytes are not stored: the projection never reads them)."""
    return (ev.Attachment(id=hashlib.sha256(seed.encode()).hexdigest(), filename=f"скан {seed}.pdf",
                          content_type="application/pdf", size=len(seed)),)


def message(event: ev.CloudEvent) -> tuple[str, bytes, dict[str, str]]:
    """The subject, payload and headers the relay would publish for ``event``."""
    subject = subjects.ticket_subject(event.data.ticket_id, ev.event_type(event.data))
    return subject, msgspec.json.encode(event), {"Nats-Msg-Id": event.id, POSITION_HEADER: str(event.sequence)}


async def publish(js: JetStreamContext, events: list[ev.CloudEvent], window: int = 2000) -> None:
    """Publish in order; acknowledgements are awaited in windows, so order is kept."""
    await ensure_stream(js)
    for i in range(0, len(events), window):
        acks = []
        for event in events[i:i + window]:
            subject, payload, headers = message(event)
            acks.append(await js.publish_async(subject, payload, headers=headers))
        for ack in acks:
            await ack
