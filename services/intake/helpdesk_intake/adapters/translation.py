"""From stored domain events (private to intake) to integration events (the public contract).

A fact carries context a domain event alone does not (a ticket's customer and
the status after it, a customer's previous policy); so facts are made from the
event together with its aggregate as it stood right after that event.
``to_message`` gives the subject and CloudEvent the relay publishes.
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.domain import Aggregate

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as pub
from helpdesk_shared import mail_events as mail
from helpdesk_shared import policy_events as policies
from helpdesk_shared import release_events as releases
from helpdesk_shared import subjects
from helpdesk_shared import webhook_events as hooks
from helpdesk_shared.events import CloudEvent
from helpdesk_shared.vocabulary import Role, Status

from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.inbound_mail import InboundMail
from helpdesk_intake.domain.policy import Policy
from helpdesk_intake.domain.release import Release
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_intake.domain.user import User
from helpdesk_intake.domain.webhook import Webhook

_STATUS_FACTS: dict[type, type[pub.StatusChange]] = {
    Ticket.Accepted: pub.Accepted,
    Ticket.ClarificationRequested: pub.ClarificationRequested,
    Ticket.ClarificationReceived: pub.ClarificationReceived,
    Ticket.SentToDevelopment: pub.SentToDevelopment,
    Ticket.MarkedReadyToInstall: pub.MarkedReadyToInstall,
    Ticket.SolutionProposed: pub.SolutionProposed,
    Ticket.SolutionAccepted: pub.SolutionAccepted,
    Ticket.ReturnedToWork: pub.ReturnedToWork,
    Ticket.Reopened: pub.Reopened,
    Ticket.Rejected: pub.Rejected,
    Ticket.Deferred: pub.Deferred,
    Ticket.Resumed: pub.Resumed,
}

_COPIED_FIELDS: dict[type, tuple[type[pub.TicketFact], tuple[str, ...]]] = {
    Ticket.Opened: (pub.TicketOpened, ("number", "subject", "description", "channel", "category",
                                       "priority", "service", "requester_id", "policy", "attachments",
                                       "message_id", "details", "missing_details")),
    Ticket.DetailsChanged: (pub.DetailsChanged, ("details", "missing_details")),
    Ticket.CategoryChanged: (pub.CategoryChanged, ("category",)),
    Ticket.PriorityChanged: (pub.PriorityChanged, ("priority",)),
    Ticket.ServiceChanged: (pub.ServiceChanged, ("service",)),
    Ticket.AssigneesChanged: (pub.AssigneesChanged, ("responsible_id", "owner_id", "department")),
    Ticket.PlanChanged: (pub.PlanChanged, ("planned_date", "planned_minutes", "release")),
    Ticket.CommentAdded: (pub.CommentAdded, ("comment_id", "body", "visibility", "attachments", "message_id",
                                                   "call")),
    Ticket.TimeLogged: (pub.TimeLogged, ("entry_id", "minutes", "billed_minutes", "billable", "note",
                                                   "budget_month", "budget_limit")),
    Ticket.ThirdPartyAwaited: (pub.ThirdPartyAwaited, ("party", "note")),
    Ticket.ThirdPartyCleared: (pub.ThirdPartyCleared, ("party",)),
}


def to_fact(event: Any, ticket: Ticket) -> pub.TicketFact | None:
    """The integration fact for a ticket's domain event, or None for an event with no public face."""
    common = {
        "ticket_id": str(event.originator_id),
        "customer_id": ticket.customer_id,
        "version": event.originator_version,
        "status": ticket.status,
        "actor": pub.Actor(id=event.actor_id, role=Role(event.actor_role)),
        "occurred_at": event.timestamp,
    }
    if type(event) in _STATUS_FACTS:
        extra = {"done_so_far": _steps(event.done_so_far)} if isinstance(event, Ticket.Rejected) else {}
        return _STATUS_FACTS[type(event)](
            **common, from_status=Status(event.from_status), comment=event.comment,
            reason=event.reason, automatic=event.automatic, **extra, **_budget(event),
        )
    if type(event) in _COPIED_FIELDS:
        fact_class, names = _COPIED_FIELDS[type(event)]
        return fact_class(**common, **{name: _public(getattr(event, name), name) for name in names})
    return None


def _steps(steps: Any) -> tuple[pub.DoneStep, ...]:
    """The stored ``done_so_far`` dicts as public steps."""
    return tuple(msgspec.convert(step, pub.DoneStep) for step in steps)


def _public(value: Any, name: str = "") -> Any:
    if value is None:
        return {} if name == "details" else None  # tickets opened before details had none
    return tuple(value) if isinstance(value, list) else value  # JSON gives back tuples as lists


def _budget(event: Any) -> dict[str, Any]:
    """An acceptance's norm-hours fields (MED-12); other moves have none."""
    if not isinstance(event, Ticket.Accepted):
        return {}
    return {name: getattr(event, name) for name in ("budget_month", "budget_minutes", "budget_limit")}


def _actor(event: Any) -> pub.Actor:
    return pub.Actor(id=event.actor_id, role=Role(event.actor_role))


def to_directory_fact(event: Any, before: Aggregate | None, after: Aggregate) -> directory.DirectoryFact | None:
    """The public fact for a customer's or user's domain event (never a secret)."""
    common = {"version": event.originator_version, "actor": _actor(event), "occurred_at": event.timestamp}
    match event:
        case Customer.Registered():
            return directory.CustomerRegistered(
                **common, customer_id=str(event.originator_id), name=event.name, email=event.email,
                client_code=event.client_code, policy=event.policy, monthly_hours=event.monthly_hours,
                paid_support=event.paid_support, active=event.active)
        case Customer.PolicyChanged():
            return directory.CustomerPolicyChanged(
                **common, customer_id=str(event.originator_id), policy=event.policy,
                previous_policy=before.policy if isinstance(before, Customer) else "")
        case Customer.ContractChanged():
            return directory.CustomerContractChanged(
                **common, customer_id=str(event.originator_id), monthly_hours=event.monthly_hours,
                paid_support=event.paid_support, active=event.active)
        case Customer.LanguageChosen():
            return directory.CustomerLanguageChanged(**common, customer_id=str(event.originator_id),
                                                     language=event.language)
        case User.Registered():
            return directory.UserRegistered(
                **common, user_id=str(event.originator_id), name=event.name, email=event.email,
                login=event.login, role=event.role, customer_id=event.customer_id,
                department=event.department, phone=event.phone)
        case User.Event():
            return _user_fact(event, {**common, "user_id": str(event.originator_id)})
    return None


_SESSION_FACTS: dict[type, type[directory.SessionsEnded]] = {
    User.Deactivated: directory.UserDeactivated,
    User.PasswordChanged: directory.UserPasswordChanged,
    User.PasswordReset: directory.UserPasswordReset,
}


def _user_fact(event: Any, common: dict[str, Any]) -> directory.UserFact | None:
    """The public fact of a user's change after registration (never a secret)."""
    match event:
        case User.Blocked():
            return directory.UserBlocked(**common, sessions=event.sessions, reason=event.reason)
        case User.Unblocked():
            return directory.UserUnblocked(**common)
        case User.Reactivated():
            return directory.UserReactivated(**common)
        case User.ContactChanged():
            return directory.UserContactChanged(**common, name=event.name, email=event.email, phone=event.phone)
        case User.LanguageChosen():
            return directory.UserLanguageChanged(**common, language=event.language)
    if type(event) in _SESSION_FACTS:
        return _SESSION_FACTS[type(event)](**common, sessions=event.sessions)
    return None


def to_mail_fact(event: Any) -> mail.MailFact | None:
    """The public outcome of a received mail (every InboundMail event is one)."""
    common = {"mail_id": str(event.originator_id), "message_id": event.message_id, "sender": event.sender,
              "subject": event.subject, "occurred_at": event.timestamp}
    match event:
        case InboundMail.Registered():
            return mail.MailRegistered(**common, ticket_id=event.ticket_id, number=event.number,
                                       customer_id=event.customer_id, comment_id=event.comment_id)
        case InboundMail.Refused():
            return mail.MailRefused(**common, reason=event.reason, detail=event.detail,
                                    customer_id=event.customer_id, language=event.language)
        case InboundMail.Forwarded():
            return mail.MailForwarded(**common, customer_id=event.customer_id, forward_to=event.forward_to,
                                      text=event.text, attachments=tuple(event.attachments))
    return None


def to_webhook_fact(event: Any) -> hooks.WebhookFact | None:
    """The public fact of a webhook's domain event: its url and filter, never its secret."""
    common = {"webhook_id": str(event.originator_id), "version": event.originator_version,
              "actor": _actor(event), "occurred_at": event.timestamp}
    match event:
        case Webhook.Registered():
            return hooks.WebhookRegistered(**common, url=event.url, subjects=tuple(event.subjects))
        case Webhook.Removed():
            return hooks.WebhookRemoved(**common)
    return None


def to_release_fact(event: Any) -> releases.ReleaseFact | None:
    """The public fact of a release's domain event (IMC-9)."""
    common = {"release_id": str(event.originator_id), "version": event.originator_version,
              "actor": _actor(event), "occurred_at": event.timestamp}
    match event:
        case Release.Planned():
            return releases.ReleasePlanned(**common, name=event.name, kind=event.kind, date=event.date)
        case Release.Redated():
            return releases.ReleaseRedated(**common, date=event.date, previous_date=event.previous_date)
        case Release.Renamed():
            return releases.ReleaseRenamed(**common, name=event.name)
    return None


def to_policy_fact(event: Any, after: Aggregate) -> policies.PolicyFact | None:
    """The public fact of a policy's published version (its registration is private)."""
    if not isinstance(event, Policy.Published):
        return None
    return policies.PolicyPublished(policy_id=after.policy_id,  # type: ignore[attr-defined]
                                    version=event.originator_version - 1, actor=_actor(event),
                                    occurred_at=event.timestamp, text=event.text, fingerprint=event.fingerprint)


def to_message(event: Any, before: Aggregate | None, after: Aggregate,
               position: int) -> tuple[str, CloudEvent] | None:
    """The subject and CloudEvent the relay publishes for a stored event, or None for a private one."""
    event_id = f"{event.originator_id}.{event.originator_version}"
    if isinstance(event, Ticket.Event):
        fact = to_fact(event, after)  # type: ignore[arg-type]
        if fact is None:
            return None
        envelope = pub.wrap(fact, event_id=event_id, sequence=position, number=after.number)  # type: ignore[attr-defined]
        return subjects.ticket_subject(fact.ticket_id, pub.event_type(fact)), envelope
    if isinstance(event, (Customer.Event, User.Event)):
        dfact = to_directory_fact(event, before, after)
        if dfact is None:
            return None
        prefix = subjects.CUSTOMER_PREFIX if isinstance(event, Customer.Event) else subjects.USER_PREFIX
        envelope = directory.wrap(dfact, event_id=event_id, sequence=position)
        return subjects.subject(prefix, envelope.subject, directory.event_type(dfact)), envelope
    if isinstance(event, InboundMail.Event):
        mfact = to_mail_fact(event)
        if mfact is None:
            return None
        envelope = mail.wrap(mfact, event_id=event_id, sequence=position)
        return subjects.subject(subjects.MAIL_PREFIX, mfact.mail_id, mail.event_type(mfact)), envelope
    if isinstance(event, Webhook.Event) and (wfact := to_webhook_fact(event)) is not None:
        envelope = hooks.wrap(wfact, event_id=event_id, sequence=position)
        return subjects.subject(subjects.WEBHOOK_PREFIX, wfact.webhook_id, hooks.event_type(wfact)), envelope
    if isinstance(event, Release.Event) and (rfact := to_release_fact(event)) is not None:
        envelope = releases.wrap(rfact, event_id=event_id, sequence=position)
        return subjects.subject(subjects.RELEASE_PREFIX, rfact.release_id, releases.event_type(rfact)), envelope
    if isinstance(event, Policy.Event) and (pfact := to_policy_fact(event, after)) is not None:
        envelope = policies.wrap(pfact, event_id=event_id, sequence=position)
        return subjects.subject(subjects.POLICY_PREFIX, pfact.policy_id, policies.event_type(pfact)), envelope
    return None
