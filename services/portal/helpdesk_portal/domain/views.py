"""View models: the API's ticket documents reduced to what a row or a page shows, in the user's words."""

from __future__ import annotations

from typing import Any

from helpdesk_portal.domain import words
from helpdesk_portal.domain.words import Gettext

DEFAULT_ZONE = "Europe/Moscow"
OPEN_TARGET_STATES = ("running", "paused", "at_risk", "breached")


def zone_of(ticket: dict[str, Any], zones: dict[str, str]) -> str:
    policy = ticket.get("policy") or (ticket.get("sla") or {}).get("policy")
    return zones.get(str(policy), DEFAULT_ZONE)


def open_targets(ticket: dict[str, Any], kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The targets still counting, soonest first; ``kinds`` keeps those that concern the viewer."""
    targets = [t for t in (ticket.get("sla") or {}).get("targets", []) if t.get("state") in OPEN_TARGET_STATES
               and (kinds is None or t.get("kind") in kinds)]
    return sorted(targets, key=lambda t: t.get("remaining_seconds") if t.get("remaining_seconds") is not None
                  else float("inf"))


def row(ticket: dict[str, Any], staff: bool, zones: dict[str, str], locale: str, _: Gettext) -> dict[str, Any]:
    """One line of a list: a customer sees the deadlines that wait on them, staff the most urgent target."""
    zone = zone_of(ticket, zones)
    targets = open_targets(ticket, None if staff else words.CUSTOMER_TARGETS)
    first = targets[0] if targets else None
    return {
        "id": ticket["id"], "number": ticket.get("number", ""), "subject": ticket.get("subject", ""),
        "status": ticket.get("status", ""), "priority": ticket.get("priority", ""),
        "updated": words.instant(ticket.get("updated_at"), zone, locale),
        "deadline": words.deadline(first, zone, locale, _, staff) if first else "",
        "sla_state": first.get("state") if first else "",
    }


def thread(ticket: dict[str, Any], staff: bool) -> list[dict[str, Any]]:
    """The comments a viewer is shown, oldest first; a customer never an internal one (the API also hides them)."""
    return [{**c, "body": "" if _names_its_files_only(c) else c.get("body", "")}
            for c in ticket.get("comments", []) if staff or c.get("visibility") != "internal"]


def _names_its_files_only(comment: dict[str, Any]) -> bool:
    """An attachment-only comment: intake gave it the body ``Attached: <its file names>``, which the file
    list already says (in the page's language)."""
    files = comment.get("attachments") or []
    return bool(files) and comment.get("body") == "Attached: " + ", ".join(str(a.get("filename")) for a in files)


def opening_files(ticket: dict[str, Any]) -> list[dict[str, Any]]:
    """The files the request came with that no comment of the thread already shows."""
    in_comments = {a.get("id") for c in ticket.get("comments", []) for a in c.get("attachments") or []}
    return [a for a in ticket.get("attachments") or [] if a.get("id") not in in_comments]


def timeline(history: list[dict[str, Any]], zone: str, locale: str, me: str, _: Gettext) -> list[dict[str, Any]]:
    """The ticket's events as timeline entries: when, who (a role in words, "you"), what (in words). Staff's
    alone (customers are shown no history), so statuses read as staff say them."""
    return [{"what": words.event(str(e.get("type", "")), (e.get("data") or {}).get("status"), _, staff=True),
             "time": words.instant(e.get("time"), zone, locale),
             "actor": words.actor(e.get("actor"), me, _), "data": e.get("data") or {}} for e in history]
