"""Facts in CloudEvent envelopes, as intake's relay and the SLA service publish them, for notify's tests.

Store facts (ticket, user, customer, mail) share one increasing position, as in
intake's event store; SLA facts have their own sequence, as the SLA outbox's.
``publish`` puts any of them on the HELPDESK stream under its family's subject.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
import nats

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as ev
from helpdesk_shared import mail_events as mail
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.stream import ensure_stream
from helpdesk_shared.vocabulary import Channel, Role, Status, Visibility

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REQUESTER, CUSTOMER_ID, AGENT, SERVICE = "user-requester", "customer-acme", "user-agent", "service:sla"
ADMIN_ACTOR = ev.Actor("admin", Role.ADMIN)
_positions = itertools.count(1)  # intake's store: one order for every store fact
_sla_sequences = itertools.count(1)


def _at(position: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=position)


class History:
    """One ticket's events with increasing positions, versions and times."""

    def __init__(self, number: str = "HD-1001", ticket_id: str | None = None,
                 customer_id: str = CUSTOMER_ID) -> None:
        self.ticket_id = ticket_id or uuid.uuid4().hex
        self.number = number
        self.customer_id = customer_id
        self.version = 0

    def event(self, kind: type[ev.TicketFact], role: Role = Role.AGENT, actor: str | None = None,
              status: Status = Status.IN_PROGRESS, **fields: Any) -> ev.CloudEvent:
        self.version += 1
        position = next(_positions)
        who = actor or {Role.CUSTOMER: REQUESTER, Role.SERVICE: SERVICE}.get(role, AGENT)
        fact = kind(ticket_id=self.ticket_id, customer_id=self.customer_id, version=self.version, status=status,
                    actor=ev.Actor(who, role), occurred_at=_at(position), **fields)
        return ev.wrap(fact, event_id=f"evt-{position}", sequence=position, number=self.number)

    def opened(self, requester: str | None = REQUESTER, policy: str | None = "keysystems",
               channel: Channel = Channel.EMAIL, **fields: Any) -> ev.CloudEvent:
        fields = {"subject": "Принтер не печатает", "description": "Горит", **fields}
        return self.event(ev.TicketOpened, Role.CUSTOMER, actor=requester, status=Status.NEW,
                          number=self.number, channel=channel, requester_id=requester, policy=policy, **fields)

    def move(self, kind: type[ev.StatusChange], role: Role = Role.AGENT, status: Status = Status.IN_PROGRESS,
             from_status: Status = Status.NEW, **fields: Any) -> ev.CloudEvent:
        return self.event(kind, role, status=status, from_status=from_status, **fields)

    def comment(self, body: str, role: Role = Role.AGENT, visibility: str = "public", **fields: Any
                ) -> ev.CloudEvent:
        return self.event(ev.CommentAdded, role, comment_id=uuid.uuid4().hex, body=body,
                          visibility=Visibility(visibility), **fields)

    def assign(self, responsible: str | None = AGENT, owner: str | None = None,
               department: str | None = None) -> ev.CloudEvent:
        return self.event(ev.AssigneesChanged, responsible_id=responsible, owner_id=owner,
                          department=department)

    def sla(self, fact_class: type[sla.SlaFact], policy: str = "keysystems",
            **fields: Any) -> sla.SlaCloudEvent:
        """An SLA fact about this ticket, with the SLA outbox's own id and sequence."""
        sequence = next(_sla_sequences)
        fact = fact_class(ticket_id=self.ticket_id, customer_id=self.customer_id, policy=policy,
                    ticket_version=self.version, occurred_at=_at(sequence), **fields)
        return sla.wrap(fact, event_id=f"sla-{uuid.uuid4().hex[:8]}-{sequence}", sequence=sequence)


def user_registered(user_id: str, email: str, name: str = "", role: Role = Role.CUSTOMER,
                    customer_id: str | None = CUSTOMER_ID, department: str | None = None) -> ev.CloudEvent:
    position = next(_positions)
    fact = directory.UserRegistered(version=1, actor=ADMIN_ACTOR, occurred_at=_at(position), user_id=user_id,
                                    name=name, email=email, login=f"login-{user_id}", role=role.value,
                                    customer_id=customer_id if role is Role.CUSTOMER else None,
                                    department=department)
    return directory.wrap(fact, event_id=f"{user_id}.1", sequence=position)


def customer_registered(customer_id: str, email: str, name: str = "Acme",
                        policy: str = "keysystems") -> ev.CloudEvent:
    position = next(_positions)
    fact = directory.CustomerRegistered(version=1, actor=ADMIN_ACTOR, occurred_at=_at(position),
                                        customer_id=customer_id, name=name, email=email, policy=policy)
    return directory.wrap(fact, event_id=f"{customer_id}.1", sequence=position)


def policy_changed(customer_id: str, policy: str, previous: str = "keysystems") -> ev.CloudEvent:
    position = next(_positions)
    fact = directory.CustomerPolicyChanged(version=2, actor=ADMIN_ACTOR, occurred_at=_at(position),
                                           customer_id=customer_id, policy=policy, previous_policy=previous)
    return directory.wrap(fact, event_id=f"{customer_id}.{position}", sequence=position)


def mail_fact(fact_class: type[mail.MailFact], sender: str, subject: str = "", **fields: Any) -> ev.CloudEvent:
    """An inbound mail's outcome; its Message-ID is ``<in-N@customer.test>`` unless given."""
    position = next(_positions)
    mail_id = uuid.uuid4().hex
    fields = {"message_id": f"<in-{position}@customer.test>", **fields}
    fact = fact_class(mail_id=mail_id, sender=sender, subject=subject, occurred_at=_at(position), **fields)
    return mail.wrap(fact, event_id=f"mail-{mail_id}", sequence=position)


def subject_of(event: ev.CloudEvent) -> str:
    """The subject the event travels on: ``helpdesk.<family>.<id>.<event>``."""
    event_type = type(event).__struct_config__.tag  # the CloudEvent type: helpdesk.<family>.<event>
    return subjects.subject(event_type.rsplit(".", 1)[0], event.subject, event_type)


def publish(nats_url: str, events: Iterable[ev.CloudEvent], msg_id_suffix: str = "") -> None:
    """Publish ``events`` in order onto the HELPDESK stream; ``msg_id_suffix`` defeats deduplication."""
    async def send() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_stream(js)
            for event in events:
                await js.publish(subject_of(event), msgspec.json.encode(event),
                                 headers={"Nats-Msg-Id": event.id + msg_id_suffix})
        finally:
            await nc.close()
    asyncio.run(send())


def directory_change(fact_class: type[directory.DirectoryFact], subject_id: str, **fields: Any) -> ev.CloudEvent:
    """A later change of a user (``user_id``) or customer (``customer_id``): a language, contacts, a block."""
    position = next(_positions)
    key = "customer_id" if issubclass(fact_class, directory.CustomerFact) else "user_id"
    fact = fact_class(version=position, actor=ADMIN_ACTOR, occurred_at=_at(position), **{key: subject_id}, **fields)
    return directory.wrap(fact, event_id=f"{subject_id}.{position}", sequence=position)
