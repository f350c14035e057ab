"""notify's use cases: fold events into views and the outbox; deliver one due mail.

Both load, call the domain and save through ports; the adapters behind the ports
(PostgreSQL, SMTP, the contacts directory) are chosen in ``bootstrap``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared import subjects

from helpdesk_notify.adapters.rendering import Envelope, Renderer, compose
from helpdesk_notify.domain.delivery import Backoff
from helpdesk_notify.domain.notifications import Notification, Windows, decide
from helpdesk_notify.domain.ticket import TicketView, UnknownTicket, evolve

# -- projection -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Incoming:
    stream_seq: int
    subject: str
    payload: bytes

    @property
    def ticket_id(self) -> str | None:
        parts = self.subject.split(".")
        return parts[2] if len(parts) == 4 else None


@dataclass
class Batch:
    """What a batch did: views changed (ticket → position), mail queued, messages skipped for good."""

    position: int
    stream_seq: int
    changed: dict[str, int] = field(default_factory=dict)
    notifications: list[tuple[str, str, int, Notification]] = field(default_factory=list)
    skipped: list[tuple[Incoming, str]] = field(default_factory=list)
    applied: int = 0
    ignored: int = 0  # helpdesk.sla.* until notify decides on them


def fold_batch(views: dict[str, TicketView], incoming: list[Incoming], position: int, stream_seq: int,
               mail_from_seq: int, windows: Windows) -> Batch:
    """Fold fresh events into ``views`` (in place) and decide their mail; old ones change nothing."""
    batch = Batch(position, stream_seq)
    for msg in incoming:
        batch.stream_seq = max(batch.stream_seq, msg.stream_seq)
        if msg.subject.startswith(subjects.SLA_PREFIX + "."):
            batch.ignored += 1  # SLA warnings, breaches and reminders get their arms in decide()
            continue
        try:
            event = ev.decode(msg.payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            batch.skipped.append((msg, f"undecodable: {error}"))
            continue
        if event.sequence <= batch.position:
            continue  # applied before: a redelivery or a duplicate
        batch.position = event.sequence
        fact = event.data  # type: ignore[attr-defined]
        try:
            view = evolve(views.get(fact.ticket_id), fact)
        except UnknownTicket:
            batch.skipped.append((msg, f"no ticket {fact.ticket_id} opened before this event"))
            continue
        views[fact.ticket_id] = view
        batch.applied += 1
        batch.changed[fact.ticket_id] = event.sequence
        if msg.stream_seq >= mail_from_seq:
            batch.notifications += [(event.id, fact.ticket_id, event.sequence, n)
                                    for n in decide(event, view, windows)]
    return batch


# -- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    user_id: str
    email: str
    name: str = ""
    language: Literal["ru", "en"] = "ru"


class Directory(Protocol):
    """Where recipients' addresses and languages come from (v1: contacts kept by an admin)."""

    async def lookup(self, user_ids: Collection[str]) -> dict[str, Contact]: ...


@dataclass(frozen=True)
class Job:
    """One claimed outbox row, marked ``sending`` with its attempt counted."""

    id: int
    recipient_id: str
    template: str
    context: dict[str, Any]
    message_id: str
    attempts: int


class Outbox(Protocol):
    async def claim(self, limit: int) -> list[Job]: ...
    async def sent(self, job_id: int) -> None: ...
    async def failed(self, job_id: int, error: str, retry_in: float | None) -> None: ...


class DeliveryFailed(Exception):
    """The mail server did not take the mail; ``permanent`` when trying again cannot help."""

    def __init__(self, detail: str, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, message: bytes, recipient: str) -> None: ...


Outcome = Literal["sent", "retry", "dead"]


class Sender:
    """Delivers due mail: claim a few rows, render each for its recipient, send it, record the outcome.

    Each row is marked ``sent`` as soon as the server took it, so a crash leaves at most
    the one mail in hand in doubt; the rest of a claim were never handed over.
    """

    def __init__(self, outbox: Outbox, directory: Directory, mailer: Mailer, renderer: Renderer,
                 backoff: Backoff, mail_from: str, now: Callable[[], dt.datetime], claim: int = 10) -> None:
        self._outbox, self._directory, self._mailer = outbox, directory, mailer
        self._renderer, self._backoff, self._from, self._now = renderer, backoff, mail_from, now
        self._claim = claim

    async def send_due(self) -> list[Outcome]:
        """Deliver the next few due mails; an empty list when nothing is due."""
        jobs = await self._outbox.claim(self._claim)
        contacts = await self._directory.lookup({job.recipient_id for job in jobs}) if jobs else {}
        return [await self._deliver(job, contacts.get(job.recipient_id)) for job in jobs]

    async def _deliver(self, job: Job, contact: Contact | None) -> Outcome:
        try:
            await self._mailer.send(self._message(job, contact), contact.email)  # type: ignore[union-attr]
        except DeliveryFailed as failure:
            retry_in = self._backoff.after_failure(job.attempts, failure.permanent)
            await self._outbox.failed(job.id, str(failure), retry_in)
            return "dead" if retry_in is None else "retry"
        await self._outbox.sent(job.id)
        return "sent"

    def _message(self, job: Job, contact: Contact | None) -> bytes:
        if contact is None:
            who = job.recipient_id
            raise DeliveryFailed(f"no contact for {who}: PUT /v1/admin/contacts/{who}", permanent=True)
        try:
            rendered = self._renderer.render(job.template, contact.language,
                                             {**job.context, "recipient_name": contact.name})
        except Exception as error:  # noqa: BLE001 - a broken template is not a passing failure
            raise DeliveryFailed(f"template {job.template}: {error}", permanent=True) from None
        envelope = Envelope(self._from, contact.email, contact.name, job.message_id,
                            job.context["root_message_id"])
        return compose(rendered, envelope, self._now())
