"""Hand-made ticket and SLA facts for tests that need exact histories, and a caller's token.

``Story`` numbers the facts as intake and the SLA service would (ticket versions per
ticket, store positions and SLA sequences rising across tickets); ``publish_story``
puts them on the HELPDESK stream, ticket facts as the relay does, SLA facts as the
SLA publisher does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from nats.js import JetStreamContext

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.vocabulary import Channel, Role, Status

from tests.query.synthetic import publish
from tests.support.tokens import signed_token


def token(user_id: str, role: Role, customer_id: str | None = None) -> dict[str, str]:
    """The Authorization header of a user intake would have logged in (believed while an intake runs)."""
    return {"Authorization": f"Bearer {signed_token(user_id, role, customer_id)}"}


def start_query(services: Any, *args: str, **options: Any) -> Any:
    """query as a process, with an intake beside it: intake publishes the keys query verifies tokens with."""
    services.start("intake", "serve")
    return services.start("query", *(args or ("serve",)), **options)


class Story:
    """Facts about several tickets in the order they happened."""

    def __init__(self) -> None:
        self.tickets: list[ev.CloudEvent] = []
        self.sla: list[sla.SlaCloudEvent] = []
        self._versions: dict[str, int] = {}
        self._customers: dict[str, tuple[str, str | None]] = {}

    @property
    def position(self) -> int:
        """The store position of the last ticket fact so far."""
        return self.tickets[-1].sequence if self.tickets else 0

    def open(self, ticket_id: str, customer_id: str, at: dt.datetime, by: ev.Actor, policy: str = "imc",
             **fields: Any) -> ev.CloudEvent:
        self._customers[ticket_id] = (customer_id, policy)
        return self.fact(ev.TicketOpened, ticket_id, at, by, Status.NEW, number=f"HD-{len(self._customers)}",
                         subject="Счета не печатаются", description="после обновления", channel=Channel.EMAIL,
                         policy=policy, **fields)

    def fact(self, fact_type: type[ev.TicketFact], ticket_id: str, at: dt.datetime, by: ev.Actor, status: Status,
             **fields: Any) -> ev.CloudEvent:
        version = self._versions[ticket_id] = self._versions.get(ticket_id, 0) + 1
        fact = fact_type(ticket_id=ticket_id, customer_id=self._customers[ticket_id][0], version=version,
                    status=status, actor=by, occurred_at=at, **fields)
        event = ev.wrap(fact, event_id=f"{ticket_id}.{version}", sequence=self.position + 1, number=None)
        self.tickets.append(event)
        return event

    def sla_fact(self, fact_type: type[sla.SlaFact], ticket_id: str, at: dt.datetime,
                 **fields: Any) -> sla.SlaCloudEvent:
        customer_id, policy = self._customers[ticket_id]
        fact = fact_type(ticket_id=ticket_id, customer_id=customer_id, policy=policy or "",
                    ticket_version=self._versions[ticket_id], occurred_at=at, **fields)
        event = sla.wrap(fact, event_id=f"sla-{len(self.sla) + 1}", sequence=len(self.sla) + 1)
        self.sla.append(event)
        return event

    def accepted_in_time(self, ticket_id: str, customer_id: str, at: dt.datetime, customer: ev.Actor,
                         agent: ev.Actor) -> None:
        """Opened at ``at``, accepted an hour later, and the SLA's first response met then (due at two)."""
        hour = dt.timedelta(hours=1)
        self.open(ticket_id, customer_id, at, customer)
        self.fact(ev.Accepted, ticket_id, at + hour, agent, Status.IN_PROGRESS, from_status=Status.NEW)
        self.sla_fact(sla.Met, ticket_id, at + hour, kind="first_response", due_at=at + 2 * hour, stopped_at=at + hour)


async def publish_story(js: JetStreamContext, story: Story) -> None:
    await publish(js, story.tickets)
    for event in story.sla:
        subject = subjects.sla_subject(event.subject, sla.event_type(event.data))
        await js.publish(subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": event.id})
