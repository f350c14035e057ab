"""Keysystems (KS-4, KS-5, KS-8) on the simulated clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies import calendar_of, load_policies
from tests.sla.scenario import as_utc, msk

pytestmark = [pytest.mark.e2e]
MONDAY = msk(2026, 2, 2, 10, 0)  # a plain working week: no holidays until 23 February

CONTRACT_POLICY = """
id = "keysystems-contract"
name = "Keysystems with a contractual resolution time"
pause_statuses = ["awaiting_customer"]
clarification_returns_to = "previous"

[calendar]
timezone = "Europe/Moscow"
holidays = "RU"

[calendar.hours]
mon = ["09:00-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-18:00"]

[[targets]]
resolution = "3bd"

[[transitions]]
status = "awaiting_customer"
after = "5bd"
action = "reject"
reason = "no_reply"
"""


def test_ks5_no_reply_within_five_business_days_closes_without_solution(start_desk: Any) -> None:
    desk = start_desk("keysystems", start=MONDAY)
    tid = desk.open()
    desk.act(tid, "accept")
    desk.act(tid, "request_clarification")
    desk.move_to(msk(2026, 2, 9, 9, 59))  # 5 bd after Monday 10:00 is next Monday 10:00
    assert desk.status(tid) == "awaiting_customer"
    desk.move_to(msk(2026, 2, 9, 10, 1))
    rejected = desk.ticket_facts(tid)[-1]
    assert isinstance(rejected, ev.Rejected) and rejected.automatic and rejected.reason == "no_reply"


def test_ks4_waiting_for_the_customer_pauses_the_clock_and_moves_the_deadline(start_desk: Any, tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "contract.toml").write_text(CONTRACT_POLICY)
    policy_dir = str(tmp_path / "policies")
    calendar = calendar_of(load_policies(policy_dir)["keysystems-contract"])
    desk = start_desk("keysystems-contract", start=MONDAY, env={"HELPDESK_POLICY_DIR": policy_dir})
    tid = desk.open()
    desk.act(tid, "accept")
    [first] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"]
    assert as_utc(first.due_at) == as_utc(msk(2026, 2, 5, 10, 0))  # 3 bd from Monday 10:00

    desk.move_to(msk(2026, 2, 3, 10, 0))
    desk.act(tid, "request_clarification")
    desk.move_to(msk(2026, 2, 5, 12, 0))  # past the original deadline while paused: no breach
    assert not desk.of(tid, sla.Breached)
    assert desk.of(tid, sla.Paused)
    desk.comment(tid, "here is the log")
    assert desk.status(tid) == "in_progress"  # KS-4: work goes on where it stopped
    assert desk.of(tid, sla.Resumed)
    moved = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"][-1]
    paused = calendar.between(msk(2026, 2, 3, 10, 0), msk(2026, 2, 5, 12, 0))
    assert calendar.between(first.due_at, moved.due_at) == paused  # exactly the paused business time
    assert as_utc(moved.due_at) == as_utc(msk(2026, 2, 9, 12, 0))

    desk.move_to(moved.due_at - dt.timedelta(minutes=1))
    assert not desk.of(tid, sla.Breached)
    desk.move_to(moved.due_at + dt.timedelta(minutes=1))
    [breach] = desk.of(tid, sla.Breached)
    assert breach.kind == "resolution" and as_utc(breach.occurred_at) == as_utc(moved.due_at)
