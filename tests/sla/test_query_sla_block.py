"""The ticket's sla block in the query service (CONTRACT §4): projected from SLA facts, read at any instant."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sla.scenario import as_utc, msk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
HOUR = 3600


def _block(desk: Any, tid: str) -> dict[str, Any]:
    response = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", headers=desk.desk.agent, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["sla"]


def _resolution_as_of(desk: Any, tid: str, instant: Any) -> dict[str, Any]:
    """The resolution target of the ticket as it stood at ``instant`` (CARD-8), without the due time."""
    response = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", params={"as_of": instant.isoformat()},
                         headers=desk.desk.agent, timeout=10)
    assert response.status_code == 200, response.text
    found = [t for t in response.json()["sla"]["targets"] if t["kind"] == "resolution"]
    assert found, response.json()["sla"]
    return {k: found[0][k] for k in ("remaining_seconds", "state")}


def _resolution(desk: Any, tid: str, **expected: Any) -> dict[str, Any]:
    """Wait until the projected resolution target shows ``expected`` (the projection is asynchronous)."""
    def matches() -> dict[str, Any] | None:
        found = [t for t in _block(desk, tid)["targets"] if t["kind"] == "resolution"]
        return found[0] if found and all(found[0].get(k) == v for k, v in expected.items()) else None
    try:
        return wait_until(matches, timeout=10)
    except TimeoutError:
        raise AssertionError(f"resolution target never showed {expected}: {_block(desk, tid)}") from None


def test_imc8_sla_block_counts_business_time_left_at_read_time(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 9, 0), query=True)
    tid = desk.open(category="error", priority="urgent")
    desk.move_to(msk(2026, 2, 2, 10, 0))
    desk.analyse(tid)
    due = as_utc(msk(2026, 2, 3, 10, 0)).isoformat()
    _resolution(desk, tid, due_at=due, remaining_seconds=9 * HOUR, state="running")
    desk.move_to(msk(2026, 2, 2, 16, 0))
    _resolution(desk, tid, remaining_seconds=3 * HOUR, state="at_risk")
    desk.move_to(msk(2026, 2, 3, 11, 0))
    _resolution(desk, tid, remaining_seconds=-HOUR, state="breached")
    assert _block(desk, tid)["policy"] == "imc"


def test_ks4_sla_block_freezes_while_paused_and_resumes_with_the_moved_deadline(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 10, 0), query=True)
    tid = desk.open(category="error", priority="urgent")
    desk.analyse(tid)  # resolution due Tuesday 10:00
    desk.move_to(msk(2026, 2, 2, 12, 0))
    desk.act(tid, "request_clarification")
    desk.move_to(msk(2026, 2, 2, 17, 0))
    _resolution(desk, tid, remaining_seconds=7 * HOUR, state="paused")
    block = _block(desk, tid)
    assert block["paused"] is True
    assert [t["state"] for t in block["targets"] if t["kind"] == "customer_reply"] == ["running"]
    desk.comment(tid, "the log you asked for")
    moved = as_utc(msk(2026, 2, 3, 15, 0)).isoformat()  # five paused working hours later
    _resolution(desk, tid, due_at=moved, remaining_seconds=7 * HOUR, state="running")
    assert _block(desk, tid)["paused"] is False
    # CARD-8: as_of folds only the SLA facts of then and reads them then
    assert _resolution_as_of(desk, tid, msk(2026, 2, 2, 11, 0)) == {"remaining_seconds": 8 * HOUR, "state": "running"}
    assert _resolution_as_of(desk, tid, msk(2026, 2, 2, 16, 0)) == {"remaining_seconds": 7 * HOUR, "state": "paused"}
    assert _resolution_as_of(desk, tid, msk(2026, 2, 3, 16, 0)) == {"remaining_seconds": -HOUR, "state": "breached"}


def _listed(desk: Any, sla_state: str) -> set[str]:
    response = httpx.get(f"{desk.query.url}/v1/tickets", headers=desk.desk.agent, timeout=10,
                         params={"sla_state": sla_state, "customer_id": desk.desk.customer_id})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def _lists(desk: Any, expected: dict[str, set[str]]) -> None:
    """Wait until each ``sla_state`` filter lists exactly the expected tickets (the projection lags)."""
    try:
        wait_until(lambda: all(_listed(desk, state) == ids for state, ids in expected.items()), timeout=10)
    except TimeoutError:
        seen = {state: _listed(desk, state) for state in expected}
        raise AssertionError(f"sla_state filters listed {seen}, expected {expected}") from None


def test_imc8_sla_state_filter_lists_tickets_by_a_target_state_at_read_time(start_desk: Any) -> None:
    """CONTRACT §4 ``sla_state``: a ticket matches when one of its targets is in that state now."""
    desk = start_desk("imc", start=msk(2026, 2, 2, 9, 0), query=True)
    late, paused, waiting = (desk.open(category="error", priority="urgent") for _ in range(3))
    desk.move_to(msk(2026, 2, 2, 10, 0))
    desk.analyse(late)  # resolution due Tuesday 10:00, at risk from Monday 15:00
    desk.analyse(paused)
    desk.move_to(msk(2026, 2, 2, 12, 0))
    desk.act(paused, "request_clarification")  # resolution paused, customer_reply running
    # waiting: first response due Monday 18:00 with no warning lead, still running
    desk.move_to(msk(2026, 2, 2, 16, 0))
    _lists(desk, {"at_risk": {late}, "paused": {paused}, "running": {paused, waiting},
                  "met": {late, paused}, "breached": set()})
    desk.move_to(msk(2026, 2, 2, 18, 1))
    _lists(desk, {"breached": {waiting}, "at_risk": {late}, "running": {paused}})


def _read_at(desk: Any, tid: str, command: httpx.Response) -> dict[str, Any]:
    """The ticket's sla block read with the position ``command`` answered (read-your-writes, SLA facts included)."""
    assert command.status_code == 200, command.text
    response = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", timeout=10, headers={
        **desk.desk.customer, "Helpdesk-Min-Position": command.headers["Helpdesk-Position"]})
    assert response.status_code == 200, response.text
    return response.json()["sla"]


def test_ks3_a_keysystems_ticket_in_work_has_no_targets_until_a_clarification_gives_the_customer_5_bd(
        start_desk: Any) -> None:
    """README's first steps: Keysystems names no reaction or resolution time, so the block of an accepted
    ticket is empty at the acceptance's position (final, not a lag); its deadline is the customer's reply (KS-5)."""
    desk = start_desk("keysystems", start=msk(2026, 2, 2, 19, 0), query=True)  # after hours, as a first run may be
    tid = desk.open()
    empty = {"policy": "keysystems", "paused": False, "untriaged": False, "targets": []}
    assert _read_at(desk, tid, desk.desk.act(tid, "accept")) == empty
    block = _read_at(desk, tid, desk.desk.act(tid, "request_clarification", comment="Which printer is it?"))
    due = as_utc(msk(2026, 2, 9, 18, 0)).isoformat()  # 5 bd from Tuesday 09:00
    assert block["paused"] is True  # KS-4
    assert block["targets"] == [{"kind": "customer_reply", "due_at": due, "remaining_seconds": 45 * HOUR,
                                 "state": "running"}]
