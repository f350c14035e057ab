"""Inbound-mail outcomes into mail, to raw addresses (the people involved are not users).

- ``refused``: a sender known to belong to a customer is told why their mail was not
  registered (KS-1 no subject, MED-4 blocked customer, unknown ticket, closed ticket,
  too large, unreadable, a policy that takes no mail), in the customer's language, as a
  reply to their message (In-Reply-To its Message-ID). Automatic messages (``auto_reply``: out-of-office,
  RFC 3834) and bounces (``mailer-daemon``, ``postmaster``) are never answered: that is
  how mail loops start. Nor is anyone we cannot place (``unknown_sender``, an unreadable
  mail from a stranger): a forged From would make us mail spam to its victim (backscatter).
- ``forwarded``: the customer's own address hears that a non-user wrote, with the text
  and the attachments' names and sizes (IMC-3).
- ``registered``: nothing; the ticket event's own mail (the acknowledgement) covers it.
"""

from __future__ import annotations

from typing import Any

from helpdesk_shared import events as ev
from helpdesk_shared import mail_events as mail

from helpdesk_notify.domain.notifications import Notification
from helpdesk_notify.domain.recipients import address, address_of
from helpdesk_notify.domain.threading import normalized

NEVER_ANSWERED = ("mailer-daemon", "postmaster")


def decide_mail(event: ev.CloudEvent) -> list[Notification]:
    """The notification an inbound mail's outcome causes (at most one)."""
    fact = event.data  # type: ignore[attr-defined]
    common: dict[str, Any] = {"original_subject": fact.subject, "sender": fact.sender,
                              "received_at": fact.occurred_at.isoformat()}
    match fact:
        case mail.MailRefused():
            recipient = address(fact.sender)
            if recipient is None or fact.customer_id is None or fact.reason == "auto_reply" \
                    or _is_bounce(recipient):
                return []
            template = "mail_refused"
            extra = {"reason": fact.reason, "detail": fact.detail, "language": fact.language,
                     "customer_id": fact.customer_id, "auto_replied": True, **_answering(fact.message_id)}
        case mail.MailForwarded():
            recipient = address(fact.forward_to)
            template = "mail_forwarded"
            extra = {"text": fact.text, "language": fact.language, "customer_id": fact.customer_id,
                     "attachments": [{"filename": a.filename, "size": a.size} for a in fact.attachments]}
        case _:
            return []
    if recipient is None:
        return []
    return [Notification(recipient, template, {**common, **extra}, f"{event.id}:{recipient}")]


def _answering(message_id: str | None) -> dict[str, str]:
    replied = normalized(message_id)
    return {"in_reply_to": replied} if replied else {}


def _is_bounce(recipient: str) -> bool:
    local = (address_of(recipient) or "").split("@", 1)[0].lower()
    return local in NEVER_ANSWERED
