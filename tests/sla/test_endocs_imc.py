"""END-1/END-4 and IMC-5/IMC-6 on the simulated clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from helpdesk_shared import sla_events as sla
from tests.sla.scenario import as_utc, msk

pytestmark = [pytest.mark.e2e]


def test_end4_the_initiator_is_reminded_weekly_and_the_request_is_not_closed_automatically(start_desk: Any) -> None:
    start = msk(2026, 2, 2, 11, 0)
    desk = start_desk("endocs", start=start)
    tid = desk.open()
    desk.act(tid, "request_clarification")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    assert as_utc(window.due_at) == as_utc(msk(2026, 2, 9, 11, 0))  # 5 standard bd
    desk.move_to(start + dt.timedelta(weeks=2, hours=1))
    reminders = desk.of(tid, sla.ReminderDue)
    assert [as_utc(r.occurred_at) for r in reminders] == [as_utc(start + dt.timedelta(weeks=n)) for n in (1, 2)]
    assert all(r.status == "awaiting_customer" for r in reminders)
    assert desk.status(tid) == "awaiting_customer"  # "may close": left to an agent
    assert not desk.of(tid, sla.TransitionDue)


def test_end1_a_request_filed_on_a_holiday_is_handled_from_the_next_working_day(start_desk: Any) -> None:
    # 2026-02-23 (Defender of the Fatherland Day) is a day off; first_response has no target in
    # endocs, so the reply window shows the calendar: 5 bd from the holiday evening.
    desk = start_desk("endocs", start=msk(2026, 2, 23, 20, 0))
    tid = desk.open()
    desk.act(tid, "request_clarification")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    assert as_utc(window.due_at) == as_utc(msk(2026, 3, 2, 19, 0))  # Tue..Fri, Mon: the 5th bd's close


def test_imc6_the_executor_may_close_after_three_bd_without_comment_nothing_closes_by_itself(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 10, 0))
    tid = desk.open()
    desk.act(tid, "request_clarification")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    assert as_utc(window.due_at) == as_utc(msk(2026, 2, 5, 10, 0))
    desk.move_to(msk(2026, 2, 6, 10, 0))
    [passed] = desk.of(tid, sla.Breached)
    assert passed.kind == "customer_reply"  # the executor may now close it
    assert desk.status(tid) == "awaiting_customer"


def test_imc5_primary_analysis_within_one_business_day_of_registration(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 6, 12, 0))  # Friday noon
    tid = desk.open()
    [target] = desk.of(tid, sla.TargetSet)
    assert target.kind == "first_response" and as_utc(target.due_at) == as_utc(msk(2026, 2, 9, 12, 0))
    desk.move_to(msk(2026, 2, 9, 12, 1))
    assert [b.kind for b in desk.of(tid, sla.Breached)] == ["first_response"]
