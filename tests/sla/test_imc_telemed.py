"""IMC-8's warning lead and TEL-1/TEL-3's working-minute reaction times, on the simulated clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from helpdesk_shared import sla_events as sla
from tests.sla.scenario import as_utc, msk

pytestmark = [pytest.mark.e2e]
MINUTE = dt.timedelta(minutes=1)


def test_imc8_at_risk_warning_lands_four_working_hours_before_an_urgent_errors_deadline(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 9, 0))
    tid = desk.open(category="error", priority="urgent")
    desk.move_to(msk(2026, 2, 2, 10, 0))
    desk.analyse(tid)  # primary analysis ends: resolution within 1 bd → Tuesday 10:00
    [target] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"]
    assert as_utc(target.due_at) == as_utc(msk(2026, 2, 3, 10, 0))
    warn_at = msk(2026, 2, 2, 15, 0)  # 1 wh on Tuesday morning + 3 wh on Monday afternoon
    desk.move_to(warn_at - MINUTE)
    assert not desk.of(tid, sla.AtRisk)
    desk.move_to(warn_at + MINUTE)
    [risk] = desk.of(tid, sla.AtRisk)
    assert risk.kind == "resolution" and as_utc(risk.occurred_at) == as_utc(warn_at)
    desk.move_to(msk(2026, 2, 3, 10, 1))
    [breach] = desk.of(tid, sla.Breached)
    assert breach.kind == "resolution" and as_utc(breach.occurred_at) == as_utc(target.due_at)
    assert len(desk.of(tid, sla.AtRisk)) == 1


@pytest.mark.parametrize(("channel", "opened", "due"), [
    ("chat", msk(2026, 2, 7, 19, 55), msk(2026, 2, 8, 8, 5)),  # Saturday → Sunday: TEL-1 is daily
    ("email", msk(2026, 2, 7, 19, 58), msk(2026, 2, 8, 8, 3)),
])
def test_tel1_tel3_reaction_counts_working_minutes_across_the_20_00_close(
        start_desk: Any, channel: str, opened: dt.datetime, due: dt.datetime) -> None:
    desk = start_desk("telemed", start=opened)
    tid = desk.open(channel=channel)
    [target] = desk.of(tid, sla.TargetSet)
    assert target.kind == "first_response" and as_utc(target.due_at) == as_utc(due)
    desk.move_to(msk(2026, 2, 7, 23, 0))
    desk.move_to(due - MINUTE)
    assert not desk.of(tid, sla.Breached)
    desk.move_to(due + MINUTE)
    [breach] = desk.of(tid, sla.Breached)
    assert breach.kind == "first_response" and as_utc(breach.occurred_at) == as_utc(due)


def test_tel3_an_agents_answer_in_time_meets_the_reaction_target(start_desk: Any) -> None:
    desk = start_desk("telemed", start=msk(2026, 2, 7, 19, 55))
    tid = desk.open(channel="chat")
    desk.move_to(msk(2026, 2, 8, 8, 2))
    desk.comment(tid, "looking into it", as_customer=False)
    [met] = desk.of(tid, sla.Met)
    assert met.kind == "first_response" and not met.breached and met.remaining_seconds == 180
    desk.move_to(msk(2026, 2, 8, 9, 0))
    assert not desk.of(tid, sla.Breached)
