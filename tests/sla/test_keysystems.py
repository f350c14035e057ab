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
from tests.support.policies import policy_document

pytestmark = [pytest.mark.e2e]
MONDAY = msk(2026, 2, 2, 10, 0)  # a plain working week: no holidays until 23 February

CONTRACT_POLICY = policy_document(
    "keysystems-contract", "3bd", name="Keysystems with a contractual resolution time", holidays="RU",
    settings='pause_statuses = ["awaiting_customer"]\nclarification_returns_to = "previous"',
    tables="""
[[transitions]]
status = "awaiting_customer"
after = "5bd"
action = "reject"
reason = "no_reply"
""")


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


def _done(desk: Any, category: str) -> str:
    """A ticket the customer accepted the solution of (status done)."""
    tid = desk.open(category=category)
    desk.act(tid, "accept")
    desk.act(tid, "propose_solution")
    desk.act(tid, "accept_solution", as_customer=True)
    assert desk.status(tid) == "done"
    return tid


def _return(desk: Any, tid: str) -> Any:
    return desk.desk.act(tid, "return_to_work", headers=desk.desk.customer, comment="still broken")


def _reopen_window(desk: Any, category: str, closes: dt.datetime) -> None:
    """Two tickets done at Monday 12:00: one returns a minute before ``closes``, one a minute after."""
    inside, outside = _done(desk, category), _done(desk, category)
    desk.move_to(closes - dt.timedelta(minutes=1))
    returned = _return(desk, inside)
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "in_progress"
    desk.settle()
    assert isinstance(desk.ticket_facts(inside)[-1], ev.Reopened)
    desk.move_to(closes + dt.timedelta(minutes=1))
    refused = _return(desk, outside)
    assert refused.status_code == 409 and refused.json()["code"] == "reopen_window_closed", refused.text
    assert desk.status(outside) == "done"


def test_ks8_return_window_two_business_days_for_errors(start_desk: Any) -> None:
    # Done Monday 2026-02-02 12:00 (no holidays that week): 2 bd later is Wednesday 12:00.
    desk = start_desk("keysystems", start=msk(2026, 2, 2, 12, 0))
    _reopen_window(desk, "error", closes=msk(2026, 2, 4, 12, 0))


def test_ks8_return_window_five_business_days_for_improvements(start_desk: Any) -> None:
    # Done Friday 2026-02-20 12:00; Monday 23 February is a holiday, so the window crosses it:
    # 5 bd are Tue 24 .. Fri 27 and Mon 2 March, closing Monday 2026-03-02 12:00 (not Friday 27).
    desk = start_desk("keysystems", start=msk(2026, 2, 20, 12, 0))
    _reopen_window(desk, "improvement", closes=msk(2026, 3, 2, 12, 0))
