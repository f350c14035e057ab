"""notify's delivery use case: send one due mail, to a directory contact or a raw address.

It loads through ports (the outbox, the contacts directory), renders, sends and
records the outcome; the adapters behind the ports (PostgreSQL, SMTP) are chosen in
``bootstrap``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from opentelemetry import trace

from helpdesk_shared.telemetry import context_from, exporting

from helpdesk_notify.adapters.rendering import Envelope, Renderer, compose
from helpdesk_notify.domain.delivery import Backoff
from helpdesk_notify.domain.recipients import address_of
from helpdesk_notify.domain.threading import thread_headers

tracer = trace.get_tracer("helpdesk.notify.delivery")


@dataclass(frozen=True)
class Contact:
    user_id: str
    email: str
    name: str = ""
    language: Literal["ru", "en"] = "ru"
    inactive: str | None = None  # "blocked" (MED-4) or "deactivated" (IMC-2): the user gets no mail now


class Directory(Protocol):
    """Where recipients' addresses and languages come from: intake's facts, an admin's overrides."""

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
    traceparent: str | None = None  # of the fact the mail is for: its sending joins that trace


class Outbox(Protocol):
    async def claim(self, limit: int) -> list[Job]: ...
    async def sent(self, job_id: int) -> None: ...
    async def failed(self, job_id: int, error: str, retry_in: float | None) -> None: ...
    async def skipped(self, job_id: int, reason: str) -> None: ...


class DeliveryFailed(Exception):
    """The mail server did not take the mail; ``permanent`` when trying again cannot help."""

    def __init__(self, detail: str, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, message: bytes, recipient: str) -> None: ...


Outcome = Literal["sent", "retry", "dead", "skipped"]


class Sender:
    """Delivers due mail: claim a few rows, render each for its recipient, send it, record the outcome.

    Each row is marked ``sent`` as soon as the server took it, so a crash leaves at most
    the one mail in hand in doubt; the rest of a claim were never handed over. A user blocked
    or deactivated when their mail falls due gets none: the row is ``skipped``, with why.
    """

    def __init__(self, outbox: Outbox, directory: Directory, mailer: Mailer, renderer: Renderer,
                 backoff: Backoff, mail_from: str, now: Callable[[], dt.datetime], claim: int = 10) -> None:
        self._outbox, self._directory, self._mailer = outbox, directory, mailer
        self._renderer, self._backoff, self._from, self._now = renderer, backoff, mail_from, now
        self._claim = claim
        self._own_address = email.utils.parseaddr(mail_from)[1].lower()

    async def send_due(self) -> list[Outcome]:
        """Deliver the next few due mails; an empty list when nothing is due."""
        jobs = await self._outbox.claim(self._claim)
        people = {job.recipient_id for job in jobs if address_of(job.recipient_id) is None}
        people |= {job.context["customer_id"] for job in jobs if job.context.get("customer_id")}
        contacts = await self._directory.lookup(people) if people else {}
        return [await self._deliver(job, _contact(job, contacts)) for job in jobs]

    async def _deliver(self, job: Job, contact: Contact | None) -> Outcome:
        if contact is not None and contact.inactive:
            await self._outbox.skipped(job.id, f"not sent: {job.recipient_id} is {contact.inactive} (MED-4, IMC-2)")
            return "skipped"
        try:
            with _sending(job):
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
            raise DeliveryFailed(f"no contact for {who}: no helpdesk.user or helpdesk.customer fact named"
                                 f" it; PUT /v1/admin/contacts/{who}", permanent=True)
        if contact.email.lower() == self._own_address:
            raise DeliveryFailed(f"{contact.email} is our own address: a mail loop", permanent=True)
        try:
            rendered = self._renderer.render(job.template, contact.language,
                                             {**job.context, "recipient_name": contact.name})
        except Exception as error:  # noqa: BLE001 - a broken template is not a passing failure
            raise DeliveryFailed(f"template {job.template}: {error}", permanent=True) from None
        in_reply_to, references = thread_headers(job.context)
        envelope = Envelope(self._from, contact.email, contact.name, job.message_id, in_reply_to, references,
                            auto_replied=bool(job.context.get("auto_replied")))
        return compose(rendered, envelope, self._now())


def _sending(job: Job) -> AbstractContextManager[Any]:
    """The span ``smtp send <template>`` in the trace of the fact the mail is for; none when spans leave
    this process for nowhere (as ``consumer_spans``): a span per mail that no one sees still costs its ids."""
    if not exporting():
        return contextlib.nullcontext()
    attributes = {"helpdesk.delivery_id": job.id, "helpdesk.attempt": job.attempts}
    return tracer.start_as_current_span(f"smtp send {job.template}", context=context_from(job.traceparent),
                                        kind=trace.SpanKind.CLIENT, attributes=attributes)


def _contact(job: Job, contacts: dict[str, Contact]) -> Contact | None:
    """The directory's contact; for a raw address, one in its customer's language (an admin's override
    on the customer), else in the language its mail was decided in."""
    if (address := address_of(job.recipient_id)) is not None:
        customer = contacts.get(job.context.get("customer_id") or "")
        language = customer.language if customer else job.context.get("language") or "ru"
        return Contact(job.recipient_id, address, "", language)  # type: ignore[arg-type]
    return contacts.get(job.recipient_id)
