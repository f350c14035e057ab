"""END-1/END-4 and IMC-5/IMC-6 on the simulated clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from tests.sla.scenario import as_utc, msk

pytestmark = [pytest.mark.e2e]


def test_end4_reminded_weekly_then_closed_with_the_wording_and_what_was_done_so_far(start_desk: Any) -> None:
    # Thursday 2026-03-05 11:00; Monday 9 March is a day off (8 March fell on a Sunday), so the
    # 5 standard bd end on Friday 13 March 11:00, a day after the weekly reminder.
    start = msk(2026, 3, 5, 11, 0)
    desk = start_desk("endocs", start=start)
    tid = desk.open()
    desk.act(tid, "accept", comment="смотрим")
    desk.act(tid, "request_clarification", comment="пришлите журнал")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    assert as_utc(window.due_at) == as_utc(msk(2026, 3, 13, 11, 0))
    desk.move_to(msk(2026, 3, 13, 10, 59))
    [reminder] = desk.of(tid, sla.ReminderDue)
    assert as_utc(reminder.occurred_at) == as_utc(start + dt.timedelta(weeks=1))
    assert desk.status(tid) == "awaiting_customer"
    desk.move_to(msk(2026, 3, 13, 11, 1))  # "may close": the preset closes (CONTRACT §5)
    closed = desk.ticket_facts(tid)[-1]
    assert isinstance(closed, ev.Rejected) and closed.automatic
    assert closed.reason == "ответ от клиента не получен"
    assert [(s.what, s.note) for s in closed.done_so_far] == [
        ("accepted", "смотрим"), ("clarification_requested", "пришлите журнал")]


def test_end1_a_request_filed_on_a_holiday_is_handled_from_the_next_working_day(start_desk: Any) -> None:
    # 2026-02-23 (Defender of the Fatherland Day) is a day off; first_response has no target in
    # endocs, so the reply window shows the calendar: 5 bd from the holiday evening.
    desk = start_desk("endocs", start=msk(2026, 2, 23, 20, 0))
    tid = desk.open()
    desk.act(tid, "request_clarification")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    assert as_utc(window.due_at) == as_utc(msk(2026, 3, 2, 19, 0))  # Tue..Fri, Mon: the 5th bd's close


def test_imc6_without_a_comment_in_three_bd_the_request_closes_without_further_processing(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 10, 0))
    tid = desk.open()
    desk.act(tid, "request_clarification", comment="уточните версию")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    assert as_utc(window.due_at) == as_utc(msk(2026, 2, 5, 10, 0))
    desk.move_to(msk(2026, 2, 5, 9, 59))
    assert desk.status(tid) == "awaiting_customer"
    desk.move_to(msk(2026, 2, 5, 10, 1))
    closed = desk.ticket_facts(tid)[-1]
    assert isinstance(closed, ev.Rejected) and closed.automatic
    assert closed.reason.startswith("обращение закрыто без дальнейшей обработки")
    assert [s.what for s in closed.done_so_far] == ["clarification_requested"]


def test_imc5_primary_analysis_within_one_business_day_of_registration(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 6, 12, 0))  # Friday noon
    tid = desk.open()
    [target] = desk.of(tid, sla.TargetSet)
    assert target.kind == "first_response" and as_utc(target.due_at) == as_utc(msk(2026, 2, 9, 12, 0))
    desk.move_to(msk(2026, 2, 9, 12, 1))
    assert [b.kind for b in desk.of(tid, sla.Breached)] == ["first_response"]


def _reply_window(desk: Any) -> tuple[str, dt.datetime]:
    """File a request and ask for clarification at once: its 5-bd customer_reply window's end.

    endocs has no executor target, so this window is where the calendar shows: it counts
    from the start of the next working day when the request comes in outside working time.
    """
    tid = desk.open()
    desk.act(tid, "request_clarification")
    [window] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "customer_reply"]
    return tid, window.due_at


def test_end1_a_request_filed_in_the_evening_is_handled_from_the_next_working_day(start_desk: Any) -> None:
    desk = start_desk("endocs", start=msk(2026, 2, 3, 20, 0))  # Tuesday 20:00, after 19:00
    _, due = _reply_window(desk)
    # counted from Wednesday 10:00: Wed, Thu, Fri, Mon, Tue -> the close of Tuesday 10 February
    assert as_utc(due) == as_utc(msk(2026, 2, 10, 19, 0))


def test_end1_a_request_filed_on_saturday_is_handled_from_monday(start_desk: Any) -> None:
    desk = start_desk("endocs", start=msk(2026, 2, 7, 12, 0))  # Saturday noon
    _, due = _reply_window(desk)
    # counted from Monday 9 February 10:00: Mon..Fri -> the close of Friday 13 February
    assert as_utc(due) == as_utc(msk(2026, 2, 13, 19, 0))


def test_end1_a_transferred_working_saturday_counts_as_a_working_day(start_desk: Any) -> None:
    # Saturday 2025-11-01 is a working day (holidays.RU: transferred from Monday 3 November, a
    # day off; 4 November is National Unity Day). Filed Friday 31 October 20:00, the request is
    # handled from Saturday 10:00: Sat 1, Wed 5, Thu 6, Fri 7, Mon 10 -> Monday 10 November 19:00
    # (were Saturday a day off it would be Tuesday 11 November 19:00).
    desk = start_desk("endocs", start=msk(2025, 10, 31, 20, 0))
    tid, due = _reply_window(desk)
    assert as_utc(due) == as_utc(msk(2025, 11, 10, 19, 0))
    desk.move_to(msk(2025, 11, 10, 18, 59))
    assert not desk.of(tid, sla.Breached)
    desk.move_to(msk(2025, 11, 10, 19, 1))
    [passed] = desk.of(tid, sla.Breached)
    assert passed.kind == "customer_reply" and as_utc(passed.occurred_at) == as_utc(due)
