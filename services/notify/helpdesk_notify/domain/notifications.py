"""Who hears what: one pure decision per event, one ``match`` arm per kind of event.

The customer side hears about registration (TEL-6, END-2), questions (END-4), the
solution and its acceptance window, closes and rejections with their reason (END-4:
an automatic close lists what was done so far) and the staff's public comments.
The requester hears when processing starts where the policy says so (TEL-6). The solution goes back by the
channel the ticket came by (KS-6): by mail, except where the policy delivers a phone
request's solution by a call — then the staff side is asked to call (its ``callback``
target runs in the SLA) and the customer gets no mail as if the request came by mail. Deferral (TEL-9, with the reason's label) and waiting on
a third party (END-5) are told to the customer too. The staff side hears the customer's comments,
returns and withdrawals. Internal comments never reach customers, and nobody is
mailed about their own action (except the acknowledgement, TEL-6). SLA facts are
decided in ``sla_notices``, inbound-mail outcomes in ``mail_notices``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Role, Visibility

from helpdesk_notify.domain.ticket import TicketView

ACKNOWLEDGEMENT = "acknowledgement"


class Notification(msgspec.Struct, frozen=True):
    """One mail to one person about one event; ``dedup_key`` makes it happen once."""

    recipient_id: str
    template: str
    context: dict[str, Any]
    dedup_key: str


class Windows(Protocol):
    """The policy's answers a decision needs (pure: computed from the policy's calendar)."""

    def acceptance_until(self, view: TicketView, at: dt.datetime) -> dt.datetime | None: ...

    def solution_by_call(self, view: TicketView) -> bool:
        """Whether the policy delivers this ticket's solution by a phone call (KS-6)."""
        ...

    def mails_processing_started(self, view: TicketView) -> bool:
        """Whether the policy tells the requester when processing starts (TEL-6)."""
        ...

    def local(self, policy: str | None, at: dt.datetime) -> dt.datetime:
        """``at`` in the policy's time zone (its business calendar's); UTC for an unknown policy."""
        ...

    def deferral_label(self, policy: str | None, code: str | None) -> dict[str, str] | None:
        """TEL-9: the label ({ru, en}) of the policy's deferral reason ``code``; None if unknown."""
        ...

    def detail_labels(self, fact: ev.TicketOpened) -> list[dict[str, Any]]:
        """The missing details of a mailed request, each with its form label in both languages."""
        ...


class NoWindows:
    def acceptance_until(self, view: TicketView, at: dt.datetime) -> dt.datetime | None:
        return None

    def solution_by_call(self, view: TicketView) -> bool:
        return False

    def mails_processing_started(self, view: TicketView) -> bool:
        return False

    def local(self, policy: str | None, at: dt.datetime) -> dt.datetime:
        return at.astimezone(dt.UTC)

    def deferral_label(self, policy: str | None, code: str | None) -> dict[str, str] | None:
        return None

    def detail_labels(self, fact: ev.TicketOpened) -> list[dict[str, Any]]:
        return [missing_label(name) for name in fact.missing_details]


def missing_label(name: str, label: dict[str, str] | None = None) -> dict[str, Any]:
    """A missing detail as a mail lists it; without a form label, its field name in both languages."""
    field = name.removeprefix("details.")
    return {"name": field, "label": label or {"ru": field, "en": field}}


def decide(event: ev.CloudEvent, view: TicketView, windows: Windows = NoWindows()) -> list[Notification]:
    """The notifications ``event`` causes, given the ticket's view after it."""
    fact = event.data  # type: ignore[attr-defined]
    customer, staff = view.customer_side, view.staff_side
    wanted: list[tuple[str | None, str, dict[str, Any]]] = []
    match fact:
        case ev.TicketOpened():
            # an email's acknowledgement answers that email (TEL-6): In-Reply-To is its Message-ID
            answers = {"in_reply_to": view.origin_message_id} if view.origin_message_id else {}
            # a mailed request lacking details is registered; its acknowledgement asks for them
            missing = {"missing_details": windows.detail_labels(fact)} if fact.missing_details else {}
            wanted.append((customer, ACKNOWLEDGEMENT, {"description": fact.description, **answers,
                                                        **missing, **_attachments(fact.attachments)}))
        case ev.Accepted() if windows.mails_processing_started(view):
            wanted.append((customer, "processing_started", {}))  # TEL-6
        case ev.ClarificationRequested():
            wanted.append((customer, "clarification_requested", {"question": fact.comment}))
        case ev.SolutionProposed() | ev.MarkedReadyToInstall() if windows.solution_by_call(view):
            wanted.append((staff, "solution_callback", {"solution": fact.comment}))  # KS-6
        case ev.SolutionProposed() | ev.MarkedReadyToInstall():
            until = windows.acceptance_until(view, fact.occurred_at)
            template = "solution_proposed" if isinstance(fact, ev.SolutionProposed) else "ready_to_install"
            wanted.append((customer, template, {"solution": fact.comment,
                                                "acceptance_until": until.isoformat() if until else None}))
        case ev.SolutionAccepted(automatic=True):
            wanted.append((customer, "closed_automatically", {"reason": fact.reason or fact.comment}))
        case ev.SolutionAccepted():
            wanted.append((staff, "solution_accepted", {"comment": fact.comment}))
        case ev.Rejected() if fact.actor.role is Role.CUSTOMER:
            wanted.append((staff, "withdrawn", {"reason": fact.reason}))
        case ev.Rejected():
            # END-4: a close without a solution lists what was done so far, as intake assembled it
            # (facts from before that field: an automatic close lists the steps notify saw)
            steps = fact.done_so_far or (view.steps[:-1] if fact.automatic else ())
            done = [msgspec.to_builtins(s) for s in steps]
            wanted.append((customer, "rejected", {"reason": fact.reason, "comment": fact.comment,
                                                  "automatic": fact.automatic, "done_so_far": done}))
        case ev.CommentAdded(visibility=Visibility.INTERNAL):
            pass  # never to customers; staff read them in the desk
        case ev.CommentAdded() if fact.actor.role is Role.CUSTOMER:
            wanted.append((staff, "comment_added", {"body": fact.body, "from_customer": True,
                                                    **_attachments(fact.attachments)}))
        case ev.CommentAdded():
            wanted.append((customer, "comment_added", {"body": fact.body, "from_customer": False,
                                                       **_attachments(fact.attachments)}))
        case ev.Deferred() | ev.Resumed():  # TEL-9: the customer is told why, in their language
            label = windows.deferral_label(view.policy, fact.reason) if isinstance(fact, ev.Deferred) else None
            wanted.append((customer, "deferred", {"resumed": isinstance(fact, ev.Resumed), "reason": fact.reason,
                                                  "reason_label": label, "comment": fact.comment}))
        case ev.ThirdPartyAwaited() | ev.ThirdPartyCleared():  # END-5: the customer is told
            wanted.append((customer, "third_party", {"cleared": isinstance(fact, ev.ThirdPartyCleared),
                                                     "party": fact.party, "note": getattr(fact, "note", None)}))
        case ev.ReturnedToWork() | ev.Reopened():
            wanted.append((staff, "returned_to_work", {"comment": fact.comment or fact.reason,
                                                       "reopened": isinstance(fact, ev.Reopened)}))
    wanted = [(r, t, x) for r, t, x in wanted if t == ACKNOWLEDGEMENT or r != fact.actor.id]
    return notifications(event, view, wanted)


def notifications(event: Any, view: TicketView,
                  wanted: list[tuple[str | None, str, dict[str, Any]]]) -> list[Notification]:
    """One notification per wanted (recipient, template, context) of a ticket; nobody is skipped."""
    return [Notification(recipient, template, {**common(event, view), **extra}, f"{event.id}:{recipient}")
            for recipient, template, extra in wanted if recipient]


def common(event: Any, view: TicketView) -> dict[str, Any]:
    """What every template of a ticket may use (an email ticket's mail also references its origin)."""
    values = {"ticket_id": view.ticket_id, "number": view.number, "subject": view.subject,
              "status": view.status.value, "channel": view.channel.value,
              "occurred_at": event.time.isoformat(), "root_message_id": view.root_message_id}
    if view.origin_message_id:
        values["origin_message_id"] = view.origin_message_id
    return values


def _attachments(attachments: tuple[ev.Attachment, ...]) -> dict[str, Any]:
    """The files that came with it, by name and size (the files stay in the object store)."""
    if not attachments:
        return {}
    return {"attachments": [{"filename": a.filename, "size": a.size} for a in attachments]}
