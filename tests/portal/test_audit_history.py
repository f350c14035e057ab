"""The auditor's timeline: what each event changed (field: before → after), from the successive states,
in the portal's words; and the stops of the time slider."""

from __future__ import annotations

from helpdesk_portal import i18n
from helpdesk_portal.domain import audit

RU, EN = i18n.translations("ru").gettext, i18n.translations("en").gettext
AGENT = {"id": "a1", "role": "agent"}


def _event(kind: str, time: str, **data: object) -> dict[str, object]:
    return {"type": f"helpdesk.ticket.{kind}", "time": time, "actor": AGENT, "position": 1,
            "data": {"ticket_id": "t", "version": 1, "actor": AGENT, **data}}


HISTORY = [
    _event("opened", "2026-12-01T07:00:00Z", status="new", subject="Printer", priority="normal", category=None,
           details={}),
    _event("priority_changed", "2026-12-01T07:05:00Z", status="new", priority="high"),
    _event("plan_changed", "2026-12-01T07:05:00Z", status="new", planned_minutes=90, planned_date=None, release=None),
    _event("accepted", "2026-12-01T08:00:00Z", status="in_progress", from_status="new"),
    _event("time_logged", "2026-12-01T09:00:00Z", status="in_progress", minutes=25, billed_minutes=30),
    _event("time_logged", "2026-12-01T09:30:00Z", status="in_progress", minutes=20, billed_minutes=30),
    _event("plan_changed", "2026-12-01T10:00:00Z", status="in_progress", planned_minutes=None, planned_date=None,
           release="2026.4"),
    _event("comment_added", "2026-12-01T10:30:00Z", status="in_progress", body="hi", comment_id="c"),
]


def test_auditor_history_each_event_says_what_it_changed_before_and_after() -> None:
    changed = audit.changes(HISTORY)
    assert changed[0] == [("status", None, "new"), ("subject", None, "Printer"), ("priority", None, "normal")]
    assert changed[1] == [("priority", "normal", "high")]
    assert changed[2] == [("planned_minutes", None, 90)]  # the plan is sent whole: only what differs changed
    assert changed[3] == [("status", "new", "in_progress")]
    assert changed[4:6] == [[("spent_minutes", None, 25)], [("spent_minutes", 25, 45)]]
    assert changed[6] == [("planned_minutes", 90, None), ("release", None, "2026.4")]
    assert changed[7] == []


def test_auditor_history_changes_are_worded_in_the_users_language() -> None:
    entries = audit.timeline(HISTORY, "Europe/Moscow", "en", "someone", EN)
    assert entries[1]["changes"] == [{"field": "Priority", "before": "Normal", "after": "High"}]
    assert entries[3]["changes"] == [{"field": "Status", "before": "New", "after": "In progress"}]
    assert entries[5]["changes"] == [{"field": "Time spent", "before": "25 min", "after": "45 min"}]
    assert entries[6]["changes"][0] == {"field": "Planned minutes", "before": "1 h 30 min", "after": "—"}
    assert entries[3]["what"].startswith("Accepted") and entries[3]["time"] == "Tue 1 Dec 11:00:00 MSK"
    assert [e["stop"] for e in entries] == [0, 1, 1, 2, 3, 4, 5, 6] and not any(e["later"] for e in entries)
    earlier = audit.timeline(HISTORY, "Europe/Moscow", "en", "someone", EN, at_stop=1)
    assert [e["later"] for e in earlier] == [False] * 3 + [True] * 5
    russian = audit.timeline(HISTORY, "Europe/Moscow", "ru", "someone", RU)
    assert russian[3]["changes"] == [{"field": "Статус", "before": "Новая", "after": "В работе"}]


def test_auditor_slider_stops_at_each_distinct_event_time_the_last_by_default() -> None:
    stops = audit.instants(HISTORY)
    assert len(stops) == 7 and stops[1] == "2026-12-01T07:05:00Z"  # one PATCH, two events, one instant
    assert audit.stop(stops, None) == 6 and audit.stop(stops, "2") == 2
    assert audit.stop(stops, "7") == 6 and audit.stop(stops, "-1") == 6 and audit.stop(stops, "x") == 6
    assert audit.stop([], None) == -1
