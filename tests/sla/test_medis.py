"""MedIS Plus (MED-6..10) on the simulated clock, with intake, its relay and the SLA service running."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import psycopg
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from tests.sla.scenario import as_utc, msk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
MONDAY = msk(2026, 3, 2, 10, 0)


def test_med6_awaiting_clarification_auto_rejects_after_two_weeks(start_desk: Any) -> None:
    desk = start_desk("medis", start=MONDAY)
    tid = desk.open()
    asked = desk.act(tid, "request_clarification", comment="which printer?")
    desk.move_to(MONDAY + dt.timedelta(weeks=2) - dt.timedelta(minutes=1))
    assert desk.status(tid) == "awaiting_customer"
    desk.move_to(MONDAY + dt.timedelta(weeks=2, minutes=1))
    rejected = desk.ticket_facts(tid)[-1]
    assert isinstance(rejected, ev.Rejected) and rejected.automatic
    assert rejected.reason == "no_clarification" and rejected.actor.id == "service:sla"
    assert rejected.version == asked["version"] + 1
    assert as_utc(rejected.occurred_at) == as_utc(MONDAY + dt.timedelta(weeks=2, minutes=1))
    due = desk.of(tid, sla.TransitionDue)
    assert [(d.action, as_utc(d.occurred_at)) for d in due] == [("reject", as_utc(MONDAY + dt.timedelta(weeks=2)))]


def test_med6_clarification_returns_the_ticket_to_new_and_it_is_not_rejected(start_desk: Any) -> None:
    desk = start_desk("medis", start=MONDAY)
    tid = desk.open()
    desk.act(tid, "request_clarification")
    desk.move_to(MONDAY + dt.timedelta(days=10))
    desk.comment(tid, "the one on floor 2")
    assert desk.status(tid) == "new"
    assert isinstance(desk.ticket_facts(tid)[-1], ev.ClarificationReceived)
    desk.move_to(MONDAY + dt.timedelta(weeks=3))
    assert desk.status(tid) == "new"
    assert not [f for f in desk.ticket_facts(tid) if isinstance(f, ev.Rejected)]
    assert not desk.of(tid, sla.TransitionDue)


def test_med6_a_reply_that_reaches_intake_first_wins_over_the_auto_reject(start_desk: Any, database_url: str) -> None:
    """The SLA has not yet seen the reply when the timer fires: its If-Match is stale, intake refuses."""
    desk = start_desk("medis", start=MONDAY)
    tid = desk.open()
    desk.act(tid, "request_clarification")
    relay = next(p for p in desk.services.started if p.args == ("relay",))
    relay.terminate()
    response = desk.client.post(f"/v1/tickets/{tid}/comments", json={"body": "answer"}, headers=desk.desk.customer)
    assert response.status_code == 201
    moved: dict[str, Any] = {}
    mover = threading.Thread(target=lambda: moved.update(desk.move_to(MONDAY + dt.timedelta(weeks=2, hours=1))))
    mover.start()

    def outcome() -> str | None:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT outcome FROM sla.commands WHERE ticket_id = %s AND done_at IS NOT NULL",
                               (tid,)).fetchone()
        return row[0] if row else None

    assert wait_until(outcome, timeout=20).startswith("refused: 412")
    relay.start()
    mover.join(60)
    assert moved["settled"]
    assert desk.status(tid) == "new"
    assert not [f for f in desk.ticket_facts(tid) if isinstance(f, ev.Rejected)]


def _in_testing(desk: Any) -> str:
    tid = desk.open()
    desk.act(tid, "accept")
    desk.act(tid, "propose_solution")
    return tid


def test_med7_customer_testing_closes_as_done_after_two_weeks_without_refusal(start_desk: Any) -> None:
    desk = start_desk("medis", start=MONDAY)
    tid = _in_testing(desk)
    desk.move_to(MONDAY + dt.timedelta(weeks=2) - dt.timedelta(minutes=1))
    assert desk.status(tid) == "customer_testing"
    desk.move_to(MONDAY + dt.timedelta(weeks=2, minutes=1))
    done = desk.ticket_facts(tid)[-1]
    assert isinstance(done, ev.SolutionAccepted) and done.automatic and done.status == "done"
    assert done.reason == "no_motivated_refusal"


def test_med7_a_motivated_refusal_returns_the_ticket_to_new_and_it_is_not_closed(start_desk: Any) -> None:
    desk = start_desk("medis", start=MONDAY)
    tid = _in_testing(desk)
    desk.move_to(MONDAY + dt.timedelta(days=5))
    desk.act(tid, "return_to_work", as_customer=True, comment="the report is still empty")
    assert desk.status(tid) == "new"
    desk.move_to(MONDAY + dt.timedelta(weeks=3))
    assert desk.status(tid) == "new"
    assert not desk.of(tid, sla.TransitionDue)


def test_med8_ready_to_install_closes_as_done_after_two_weeks_without_answer(start_desk: Any) -> None:
    desk = start_desk("medis", start=MONDAY)
    tid = desk.open(category="improvement")
    desk.act(tid, "accept")
    desk.act(tid, "send_to_development")  # MED-9: customization goes to development
    desk.act(tid, "mark_ready_to_install")
    desk.move_to(MONDAY + dt.timedelta(weeks=2, minutes=1))
    done = desk.ticket_facts(tid)[-1]
    assert isinstance(done, ev.SolutionAccepted) and done.automatic and done.reason == "no_answer"


def test_med9_only_customizations_go_to_development(start_desk: Any) -> None:
    # MED-8 (ready to install closes itself after 2 weeks) is proved by the test above.
    desk = start_desk("medis", start=MONDAY)
    error, improvement = desk.open(category="error"), desk.open(category="improvement")
    desk.act(error, "accept")
    refused = desk.desk.act(error, "send_to_development")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    assert desk.status(error) == "in_progress"
    desk.act(improvement, "accept")
    assert desk.act(improvement, "send_to_development")["status"] == "in_development"
    assert isinstance(desk.ticket_facts(improvement)[-1], ev.SentToDevelopment)


def test_med10_a_new_ticket_not_reviewed_within_three_business_days_breaches(start_desk: Any) -> None:
    desk = start_desk("medis", start=MONDAY)
    late, on_time = desk.open(), desk.open()
    due = msk(2026, 3, 5, 10, 0)  # 3 bd from Monday 10:00
    [target] = desk.of(late, sla.TargetSet)
    assert target.kind == "first_response" and as_utc(target.due_at) == as_utc(due)
    desk.move_to(due - dt.timedelta(hours=1))
    desk.act(on_time, "accept")
    desk.move_to(due + dt.timedelta(minutes=1))
    [breach] = desk.of(late, sla.Breached)
    assert breach.kind == "first_response" and as_utc(breach.occurred_at) == as_utc(due)
    [met] = desk.of(on_time, sla.Met)
    assert not met.breached and met.remaining_seconds == 3600 and not desk.of(on_time, sla.Breached)
