"""What the API's values mean to a person: statuses, targets and SLA states in words, times in the
policy's zone named ("Tue 10:00 MSK"), business time left in plain words. No rule is decided here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


STATUSES = {
    "new": N_("New"), "in_progress": N_("In progress"), "awaiting_customer": N_("Awaiting your reply"),
    "in_development": N_("In development"), "ready_to_install": N_("Ready to install"),
    "customer_testing": N_("Solution proposed"), "deferred": N_("Deferred"), "done": N_("Done"),
    "rejected": N_("Rejected"),
}
# Staff see a status as the desk does: the customer's "Awaiting your reply" is, to an agent, the customer awaited.
STAFF_STATUSES = {**STATUSES, "awaiting_customer": N_("Awaiting the customer")}
ACTIONS = {
    "accept": N_("Accept"), "request_clarification": N_("Ask for clarification"),
    "send_to_development": N_("Send to development"), "mark_ready_to_install": N_("Ready to install"),
    "propose_solution": N_("Propose a solution"), "accept_solution": N_("Accept the solution"),
    "return_to_work": N_("Return to work"), "reject": N_("Reject"), "defer": N_("Defer"),
    "resume": N_("Resume"),
}
TARGETS = {
    "first_response": N_("First response"), "resolution": N_("Resolution"),
    "acceptance": N_("Your acceptance"), "remark_fix": N_("Remark fix"), "customer_reply": N_("Your reply"),
    "follow_up": N_("Follow-up"), "development_reaction": N_("Development reaction"), "callback": N_("Call back"),
}
# staff read the customer's own deadlines as the customer's (a customer reads them as "Your …")
STAFF_TARGETS = {**TARGETS, "acceptance": N_("The customer's acceptance"), "customer_reply": N_("The customer's reply")}
SLA_STATES = {
    "running": N_("on time"), "paused": N_("paused"), "at_risk": N_("at risk"),
    "met": N_("met"), "breached": N_("breached"),
}
PRIORITIES = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High"), "urgent": N_("Urgent")}
CHANNELS = {"portal": N_("Portal"), "email": N_("Email"), "phone": N_("Phone"), "chat": N_("Chat"),
            "messenger": N_("Messenger")}
CATEGORIES = {"error": N_("Error"), "support": N_("Support"), "improvement": N_("Improvement")}
# A ticket event (the last word of its type) in words; a status change also names the status it led to.
EVENTS = {
    "opened": N_("Request registered"), "category_changed": N_("Category changed"),
    "priority_changed": N_("Priority changed"), "service_changed": N_("Service changed"),
    "details_changed": N_("Details updated"), "assignees_changed": N_("Assignees changed"),
    "plan_changed": N_("Plan changed"), "comment_added": N_("Comment"), "time_logged": N_("Time logged"),
    "accepted": N_("Accepted into work"), "clarification_requested": N_("Clarification requested"),
    "clarification_received": N_("Clarification received"), "sent_to_development": N_("Sent to development"),
    "marked_ready_to_install": N_("Marked ready to install"), "solution_proposed": N_("Solution proposed"),
    "solution_accepted": N_("Solution accepted"), "returned_to_work": N_("Returned to work"),
    "reopened": N_("Reopened"), "rejected": N_("Rejected"), "deferred": N_("Deferred"), "resumed": N_("Resumed"),
    "third_party_awaited": N_("Waiting on a third party"), "third_party_cleared": N_("Third party no longer awaited"),
}
STATUS_CHANGES = frozenset({
    "accepted", "clarification_requested", "clarification_received", "sent_to_development",
    "marked_ready_to_install", "solution_proposed", "solution_accepted", "returned_to_work", "reopened",
    "rejected", "deferred", "resumed",
})
# Who caused an event, by role: any staff role is "Staff"; the service role is the SLA engine.
ROLES = {"customer": N_("Customer"), "agent": N_("Staff"), "admin": N_("Staff"), "auditor": N_("Staff"),
         "service": N_("SLA system")}
# Targets whose clock runs for the customer: the deadlines that concern them on their list.
CUSTOMER_TARGETS = ("acceptance", "customer_reply")
ZONE_NAMES = {"Europe/Moscow": "MSK", "UTC": "UTC", "Europe/Samara": "SAMT", "Asia/Yekaterinburg": "YEKT"}


@lru_cache(maxsize=16384)
def instant(value: str | None, zone: str, locale: str, seconds: bool = False) -> str:
    """An RFC 3339 instant as the policy's zone shows it: ``Tue 10:00 MSK`` (``Вт 10:00 MSK``); with
    ``seconds`` to the second (the auditor's events of one minute told apart). Kept: a page shows the same
    instants on every load (its thread, its timeline, the queue's rows)."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return f"{day(moment.date(), locale)} {moment:{'%H:%M:%S' if seconds else '%H:%M'}} {ZONE_NAMES.get(zone) or moment.tzname()}"


@lru_cache(maxsize=4096)
def day(date: dt.date, locale: str) -> str:
    """``Tue 3 Mar`` (``Вт 3 мар``): Babel's locale data is slow to consult, and a page shows few days."""
    return format_date(date, "EEE d MMM", locale=locale).replace(".", "")


def duration(seconds: int | float | None, _: Gettext) -> str:
    """Business time as a person says it: ``2 h 15 min``, ``27 h`` (working hours: no days, whose length
    the calendar decides, and the portal does no calendar arithmetic)."""
    if seconds is None:
        return ""
    hours, minutes = divmod(abs(int(seconds)) // 60, 60)
    shown = [f"{n} {unit}" for n, unit in ((hours, _("h")), (minutes, _("min"))) if n]
    return " ".join(shown) or "0 " + _("min")


def deadline(target: dict[str, object], zone: str, locale: str, _: Gettext, staff: bool = False) -> str:
    """A target in plain words: ``Resolution: 5 h 30 min left, by Tue 18:00 MSK`` or ``… overdue by 2 h``;
    named for the viewer (``staff``: "The customer's reply", a customer: "Your reply")."""
    name = _((STAFF_TARGETS if staff else TARGETS).get(str(target.get("kind")), str(target.get("kind"))))
    state, remaining = str(target.get("state")), target.get("remaining_seconds")
    if state == "met":
        return name + ": " + _("met")
    if not isinstance(remaining, (int, float)):
        return name + ": " + _("no deadline yet")
    if state == "breached" or remaining < 0:
        return name + ": " + _("overdue by") + " " + duration(remaining, _)
    due_at = target.get("due_at")
    due = instant(due_at, zone, locale) if isinstance(due_at, str) else ""
    paused = " (" + _("paused") + ")" if state == "paused" else ""
    by = ", " + _("by") + " " + due if due else ""
    return name + ": " + duration(remaining, _) + " " + _("left") + paused + by


def statuses(staff: object) -> dict[str, str]:
    """The status words for the viewer: staff's own, or the customer's (who is the one "your reply" waits on)."""
    return STAFF_STATUSES if staff else STATUSES


def event(kind: str, status: str | None, _: Gettext, staff: bool = False) -> str:
    """A ticket event in words: ``Accepted into work · Status: In progress``; an unknown type stays generic."""
    token = kind.rsplit(".", 1)[-1]
    what = _(EVENTS[token]) if token in EVENTS else _("Other change")
    shown = _(statuses(staff).get(status, status)) if token in STATUS_CHANGES and status else ""
    return what + " · " + _("Status") + ": " + shown if shown and shown != what else what


def actor(who: object, me: str, _: Gettext) -> str:
    """Who caused an event: the role in words, and "you" for the signed-in user."""
    if not isinstance(who, dict):
        return _("System")
    role = _(ROLES.get(str(who.get("role")), "System"))
    return role + " (" + _("you") + ")" if me and who.get("id") == me else role
