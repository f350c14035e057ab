"""The live chat's view models (TEL-5): a chat ticket's thread as messages, when an answer can be expected
(TEL-3's reaction target, as query reports it), and the rows of the agents' chat panel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpdesk_portal.domain import views, words
from helpdesk_portal.domain.words import Gettext

CHANNEL = "chat"
OPEN = ("new", "in_progress", "awaiting_customer", "in_development", "ready_to_install", "customer_testing")
REACTIONS = ("first_response", "follow_up")  # the answers the customer waits for (TEL-3)
SUBJECT_CHARS = 80
SLACK_SECONDS = 60  # wall time beyond the working time left: support is away now


def subject_of(message: str, fallback: str) -> str:
    """A chat's subject: its first message's first line, shortened (the message itself is the description)."""
    line = next((s.strip() for s in message.splitlines() if s.strip()), "")
    return (line[:SUBJECT_CHARS - 1] + "…" if len(line) > SUBJECT_CHARS else line) or fallback


def messages(ticket: dict[str, Any], me: str, staff: bool, zone: str, locale: str, _: Gettext) -> list[dict[str, Any]]:
    """The first message (the request's description) and every comment the viewer may see, oldest first:
    who wrote it ("you", the customer, the service desk), when, what, and whether it is a staff-only note."""
    first = {"author_id": ticket.get("requester_id"), "author_role": "customer", "body": ticket.get("description", ""),
             "created_at": ticket.get("created_at"), "visibility": "public", "attachments": views.opening_files(ticket)}
    shown = []
    for c in [first, *views.thread(ticket, staff)]:
        mine = bool(me) and c.get("author_id") == me
        customer = c.get("author_role") == "customer"
        who = _("You") if mine else (_("Customer") if customer else _("Service desk"))
        action = c.get("action")
        shown.append({"who": who, "mine": mine, "side": "customer" if customer else "staff",
                      "body": c.get("body", ""), "at": words.instant(c.get("created_at"), zone, locale),
                      "internal": c.get("visibility") == "internal", "attachments": c.get("attachments") or [],
                      "action": _(words.ACTIONS[action]) if action in words.ACTIONS else ""})
    return shown


def expectation(ticket: dict[str, Any], now: dt.datetime, zone: str, locale: str, _: Gettext) -> str:
    """When the customer can expect an answer, in words, while a reaction target runs (TEL-3): its due time
    in the policy's zone; outside working hours (the wall time to it exceeds the working time left) also
    that support is away now. Empty when no answer is awaited."""
    target = next(iter(views.open_targets(ticket, REACTIONS)), None)
    if target is None or not isinstance(target.get("due_at"), str):
        return ""
    due = dt.datetime.fromisoformat(str(target["due_at"]).replace("Z", "+00:00"))
    by = words.instant(target["due_at"], zone, locale)
    if target.get("state") == "breached" or due <= now:
        return _("The answer is late; support will answer as soon as possible.")
    left = target.get("remaining_seconds")
    if isinstance(left, (int, float)) and (due - now).total_seconds() > left + SLACK_SECONDS:
        return _("Support is not working now. You can expect an answer by %(time)s.") % {"time": by}
    return _("An agent will answer by %(time)s.") % {"time": by}


def owner(ticket: dict[str, Any], me: str, _: Gettext) -> str:
    """Whose chat it is (the first agent who answered, TEL-5), as staff see it."""
    taken_by = ticket.get("owner_id")
    if not taken_by:
        return _("Nobody has answered yet")
    return _("Yours") if taken_by == me else _("Another agent's")


def panel_row(ticket: dict[str, Any], me: str, zones: dict[str, str], locale: str, _: Gettext) -> dict[str, Any]:
    """One open chat in the agents' panel: number, first line, status, whose it is, the reaction deadline."""
    zone = views.zone_of(ticket, zones)
    waiting = next(iter(views.open_targets(ticket, REACTIONS)), None)
    return {"id": ticket["id"], "number": ticket.get("number", ""), "subject": ticket.get("subject", ""),
            "status": ticket.get("status", ""), "owner": owner(ticket, me, _), "mine": ticket.get("owner_id") == me,
            "deadline": words.deadline(waiting, zone, locale, _, staff=True) if waiting else "",
            "sla_state": waiting.get("state") if waiting else ""}

