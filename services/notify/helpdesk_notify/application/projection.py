"""Fold a batch of stream messages into ticket views, the directory and the outbox.

notify follows ``helpdesk.>`` with one durable consumer, in stream order. Each message
is decoded by its subject's family (``ticket``, ``sla``, ``customer``, ``user``,
``mail``); one that does not decode, or an SLA fact about a ticket never opened, is
refused (``Rejected``: the stream runner parks it); a family notify has no use for is
passed over. Facts from intake's store
carry its global position, so one applied before (a redelivery, a duplicate) changes
nothing; SLA facts carry the SLA service's own sequence, so they are recognised by
stream sequence instead. Either way a mail is queued once per (event, recipient): the
outbox is unique on that key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from helpdesk_shared import directory_events, mail_events, sla_events, subjects
from helpdesk_shared import events as ev
from helpdesk_shared.parking import Rejected

from helpdesk_notify.domain.mail_notices import decide_mail
from helpdesk_notify.domain.notifications import Notification, Windows, decide
from helpdesk_notify.domain.recipients import DirectoryEntry, Staff, entry
from helpdesk_notify.domain.sla_notices import WARNINGS, decide_sla
from helpdesk_notify.domain.ticket import TicketView, UnknownTicket, evolve

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "ticket": ev.decode, "sla": sla_events.decode, "mail": mail_events.decode,
    "customer": directory_events.decode, "user": directory_events.decode,
}
TICKET_FAMILIES = ("ticket", "sla")  # subjects helpdesk.<family>.<ticket_id>.<event>
# relayed from intake's event store: their ``sequence`` is its global position
STORE_FAMILIES = frozenset(prefix.rsplit(".", 1)[-1] for prefix in subjects.STORE_PREFIXES)


@dataclass(frozen=True, slots=True)
class Incoming:
    stream_seq: int
    subject: str
    payload: bytes

    @property
    def family(self) -> str:
        return subjects.family(self.subject)

    @property
    def ticket_id(self) -> str | None:
        parts = self.subject.split(".")
        return parts[2] if len(parts) == 4 and parts[1] in TICKET_FAMILIES else None

    @property
    def needs_staff(self) -> bool:
        """An SLA warning: it may have to be escalated to the staff roster."""
        return self.family == "sla" and self.subject.rsplit(".", 1)[-1] in WARNINGS


@dataclass
class Batch:
    """What a batch did: views changed (ticket → position), directory entries, mail queued."""

    position: int
    stream_seq: int
    changed: dict[str, int] = field(default_factory=dict)
    notifications: list[tuple[str, str | None, int, Notification]] = field(default_factory=list)
    directory: dict[str, DirectoryEntry] = field(default_factory=dict)
    policies: list[tuple[str, str]] = field(default_factory=list)  # (customer, new policy), in order
    changes: list[directory_events.DirectoryFact] = field(default_factory=list)  # languages, contacts, blocks
    applied: int = 0
    ignored: int = 0  # families notify has no use for
    webhooks: int = 0  # webhook deliveries queued (adapters/webhook_queue.py)


def fold_batch(views: dict[str, TicketView], incoming: list[Incoming], position: int, stream_seq: int,
               mail_from_seq: int, windows: Windows, staff: Staff | None = None, replay: bool = False) -> Batch:
    """Fold fresh messages into ``views`` (in place) and decide their mail; old ones change nothing.

    ``replay``: parked messages, folded although the tracking is past them.
    """
    batch = Batch(position, stream_seq)
    for msg in incoming:
        batch.stream_seq = max(batch.stream_seq, msg.stream_seq)
        event = _decoded(msg, batch)
        if event is None or not (_fresh(msg, event, batch, stream_seq) or replay):
            continue
        try:
            wanted = _fold(msg.family, event, views, batch, staff, windows, msg.stream_seq >= mail_from_seq)
        except UnknownTicket as unknown:
            raise Rejected(f"no ticket {unknown} opened before this event") from None
        batch.applied += 1
        ticket_id = getattr(event.data, "ticket_id", None)
        # a store fact's mail goes at its own position: a replayed one's is not the tracking's (past it)
        at = event.sequence if msg.family in STORE_FAMILIES else batch.position
        batch.notifications += [(event.id, ticket_id, at, n) for n in wanted]
    return batch


def _decoded(msg: Incoming, batch: Batch) -> Any | None:
    """The message's CloudEvent, decoded as its family's; None for a family passed over."""
    decoder = DECODERS.get(msg.family)
    if decoder is None:
        batch.ignored += 1
        return None
    try:
        return decoder(msg.payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise Rejected(f"undecodable: {error}") from None


def _fresh(msg: Incoming, event: Any, batch: Batch, tracked_seq: int) -> bool:
    """Not applied before (a redelivery, a duplicate); a store fact advances the position."""
    if msg.family not in STORE_FAMILIES:
        return msg.stream_seq > tracked_seq
    if event.sequence <= batch.position:
        return False
    batch.position = event.sequence
    return True


def _fold(family: str, event: Any, views: dict[str, TicketView], batch: Batch, staff: Staff | None,
          windows: Windows, mailing: bool) -> list[Notification]:
    fact = event.data
    if family == "ticket":
        view = views[fact.ticket_id] = evolve(views.get(fact.ticket_id), fact)
        batch.changed[fact.ticket_id] = event.sequence
        return decide(event, view, windows) if mailing else []
    if family == "sla":
        if (view := views.get(fact.ticket_id)) is None:
            raise UnknownTicket(fact.ticket_id)
        return decide_sla(event, view, staff, windows) if mailing else []
    if family == "mail":
        return decide_mail(event) if mailing else []
    _directory(fact, views, batch, staff)
    return []


CHANGES = (directory_events.UserLanguageChanged, directory_events.CustomerLanguageChanged,
           directory_events.UserContactChanged, directory_events.UserBlocked, directory_events.UserUnblocked,
           directory_events.UserDeactivated, directory_events.UserReactivated)  # what changes an entry later


def _directory(fact: directory_events.DirectoryFact, views: dict[str, TicketView], batch: Batch,
               staff: Staff | None) -> None:
    """Addresses from user and customer facts; a customer's new policy for its tickets' windows."""
    if (person := entry(fact)) is not None:
        batch.directory[person.id] = person
        if staff is not None:
            staff.add(person)
    if isinstance(fact, CHANGES):
        batch.changes.append(fact)
    if isinstance(fact, directory_events.CustomerPolicyChanged):
        batch.policies.append((fact.customer_id, fact.policy))
        for ticket_id, view in views.items():  # the rest are updated in the store
            if view.customer_id == fact.customer_id:
                views[ticket_id] = msgspec.structs.replace(view, policy=fact.policy)
