"""The auditor's view of a ticket's history: what each event changed, and the instants a slider can stop at.

A change is computed from the successive states: each event's data says the fields it
sets (intake sends the whole group after the change: both assignees and the department,
the whole plan), so a field changed where its value differs from the state before. Every
field and value is worded through the portal's catalogues (``words``); no rule is decided here.
"""

from __future__ import annotations

from typing import Any

from helpdesk_portal.domain import views, words
from helpdesk_portal.domain.words import N_, Gettext

# The ticket's fields an event can set, in the order a change lists them, with their names in words.
FIELDS = {
    "status": N_("Status"), "subject": N_("Subject"), "category": N_("Category"), "priority": N_("Priority"),
    "service": N_("Service"), "responsible_id": N_("Responsible"), "owner_id": N_("Owner"),
    "department": N_("Department"), "planned_date": N_("Planned date"), "planned_minutes": N_("Planned minutes"),
    "release": N_("Release"), "third_party": N_("Third party"), "details": N_("Details"),
    "spent_minutes": N_("Time spent"),
}
VALUES = {"status": words.STAFF_STATUSES, "category": words.CATEGORIES, "priority": words.PRIORITIES}
_GROUPS = {  # an event that sets one of these fields sets them all
    "assignees_changed": ("responsible_id", "owner_id", "department"),
    "plan_changed": ("planned_date", "planned_minutes", "release"),
}


def fields_set(kind: str, data: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The fields an event of this type sets, with their values after it."""
    token = kind.rsplit(".", 1)[-1]
    found = {name: data.get(name) for name in _GROUPS.get(token, ())}
    found.update({name: data[name] for name in FIELDS if name in data and name not in found})
    if token == "third_party_awaited":
        found["third_party"] = data.get("party")
    elif token == "third_party_cleared":
        found["third_party"] = None
    elif token == "time_logged":
        found["spent_minutes"] = int(state.get("spent_minutes") or 0) + int(data.get("minutes") or 0)
    return found


def changes(history: list[dict[str, Any]]) -> list[list[tuple[str, Any, Any]]]:
    """For each event, oldest first: the fields it changed, as ``(field, before, after)`` (an empty value
    is no value: a request opened without details did not change them)."""
    state: dict[str, Any] = {}
    found = []
    for event in history:
        data = event.get("data") or {}
        after = {name: None if value in ("", {}, []) else value
                 for name, value in fields_set(str(event.get("type", "")), data, state).items()}
        found.append([(name, state.get(name), value) for name, value in after.items()
                      if state.get(name) != value])
        state.update(after)
    return found


def shown(name: str, value: Any, _: Gettext) -> str:
    """A field's value in words: a status, category or priority by name, minutes as time, nothing as "—"."""
    if value is None or value == "" or value == {}:
        return "—"
    if name in VALUES:
        return _(VALUES[name].get(str(value), str(value)))
    if name in ("planned_minutes", "spent_minutes"):
        return words.duration(int(value) * 60, _)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def timeline(history: list[dict[str, Any]], zone: str, locale: str, me: str, _: Gettext,
             at_stop: int = -1) -> list[dict[str, Any]]:
    """The worded timeline of the agent's workspace, each entry with what it changed (before → after), its
    slider stop, and whether it happened after the stop shown (``at_stop``; -1: the last)."""
    entries = views.timeline(history, zone, locale, me, _)
    stops = {at: n for n, at in enumerate(instants(history))}
    shown_stop = at_stop if at_stop >= 0 else len(stops) - 1
    for entry, event, changed in zip(entries, history, changes(history), strict=True):
        stop = stops.get(str(event.get("time")), shown_stop)
        entry.update(at=event.get("time"), time=words.instant(event.get("time"), zone, locale, seconds=True), stop=stop,
                     later=stop > shown_stop, changes=[
                         {"field": _(FIELDS[name]), "before": shown(name, before, _), "after": shown(name, after, _)}
                         for name, before, after in changed])
    return entries


def instants(history: list[dict[str, Any]]) -> list[str]:
    """The distinct instants of the ticket's events, in order: the stops of the time slider."""
    return list(dict.fromkeys(str(e["time"]) for e in history if e.get("time")))


def stop(stops: list[str], at: str | None) -> int:
    """The slider's position for ``at`` (an index into ``stops``); the last one when absent or unknown."""
    if at is not None and at.isdigit() and int(at) < len(stops):
        return int(at)
    return len(stops) - 1
