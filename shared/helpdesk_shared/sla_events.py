"""SLA integration events: the SLA service's public facts on ``helpdesk.sla.<ticket_id>.<event>``.

Like the ticket events (``events.py``) each is a frozen msgspec struct for a
CloudEvent's ``data``, carried in a tagged CloudEvents 1.0 envelope; decode with
``decode`` and dispatch with ``match`` on ``event.data``. ``sequence`` is the SLA
service's own outbox position (per ticket, later facts have higher sequences);
it is not a ticket-store position.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from helpdesk_shared.events import CloudEvent, Family
from helpdesk_shared.vocabulary import Status

SOURCE = "urn:helpdesk:sla"
TargetKind = Literal["first_response", "resolution", "acceptance", "remark_fix", "customer_reply",
                     "follow_up", "development_reaction", "callback"]
# The customer's clocks: never paused by a policy's pause_statuses; notices of them go to the customer.
CUSTOMER_SIDE: frozenset[TargetKind] = frozenset({"acceptance", "customer_reply"})


class SlaFact(msgspec.Struct, frozen=True, kw_only=True):
    """Fields every SLA fact carries: whose ticket, under which policy, when it became true."""

    ticket_id: str
    customer_id: str
    policy: str
    ticket_version: int  # the ticket version the fact was derived from
    occurred_at: dt.datetime


class TargetSet(SlaFact, frozen=True, kw_only=True):
    """A target started, or its deadline moved (a pause ended, a policy or priority changed)."""

    kind: TargetKind
    due_at: dt.datetime | None
    warn_at: dt.datetime | None = None
    started_at: dt.datetime
    release: str | None = None  # the rule of a release-bound target (IMC-9): next_scheduled, …
    release_id: str | None = None  # the release it is bound to (due at its date); None with a release: unplanned
    customer_side: bool = False  # the customer's window: never paused
    provisional: bool = False  # computed by the law for a year whose calendar is not yet published


class Paused(SlaFact, frozen=True, kw_only=True):
    """The executor's clocks stopped: the ticket waits for the customer (KS-4)."""


class Resumed(SlaFact, frozen=True, kw_only=True):
    """The executor's clocks run again; ``target_set`` facts with the moved deadlines follow."""


class Untriaged(SlaFact, frozen=True, kw_only=True):
    """The ticket lacks the category and priority its resolution target needs (IMC-8): it has none yet."""


class Triaged(SlaFact, frozen=True, kw_only=True):
    """The ticket's category and priority now name its resolution target (or it closed untriaged)."""


class AtRisk(SlaFact, frozen=True, kw_only=True):
    """A target entered its warning lead (IMC-8: 4 working hours, or 1 bd, before it is due)."""

    kind: TargetKind
    due_at: dt.datetime


class Breached(SlaFact, frozen=True, kw_only=True):
    """A target's deadline passed before it was met."""

    kind: TargetKind
    due_at: dt.datetime


class Met(SlaFact, frozen=True, kw_only=True):
    """A target stopped; ``breached`` tells whether it stopped after its deadline."""

    kind: TargetKind
    due_at: dt.datetime | None
    stopped_at: dt.datetime
    remaining_seconds: int | None = None  # business time that was left when it stopped
    breached: bool = False


class ReminderDue(SlaFact, frozen=True, kw_only=True):
    """A reminder is due while the ticket stays in ``status`` (END-4: weekly)."""

    status: Status
    to: Literal["customer", "agent"] = "customer"


class TransitionDue(SlaFact, frozen=True, kw_only=True):
    """An automatic transition's window ran out; the SLA service sent ``action`` to intake."""

    status: Status
    action: str
    reason: str


SLA_EVENT_TYPES: dict[type[SlaFact], str] = {
    TargetSet: "helpdesk.sla.target_set",
    Paused: "helpdesk.sla.paused",
    Resumed: "helpdesk.sla.resumed",
    Untriaged: "helpdesk.sla.untriaged",
    Triaged: "helpdesk.sla.triaged",
    AtRisk: "helpdesk.sla.at_risk",
    Breached: "helpdesk.sla.breached",
    Met: "helpdesk.sla.met",
    ReminderDue: "helpdesk.sla.reminder_due",
    TransitionDue: "helpdesk.sla.transition_due",
}


class SlaCloudEvent(CloudEvent, frozen=True, kw_only=True):
    source: str = SOURCE


FAMILY = Family(SLA_EVENT_TYPES, SlaCloudEvent, __name__)
ENVELOPES = FAMILY.envelopes
SlaEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def wrap(fact: SlaFact, *, event_id: str, sequence: int, number: str | None = None) -> SlaCloudEvent:
    """Put an SLA fact into its CloudEvent envelope, with its ticket's ``number`` as ``ticketnumber``."""
    envelope = FAMILY.envelope(fact, event_id=event_id, subject=fact.ticket_id, sequence=sequence,
                               ticketnumber=number)
    return envelope  # type: ignore[return-value]
