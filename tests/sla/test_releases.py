"""IMC-9 release-bound targets and IMC-7 plans on the simulated clock: intake, relay, SLA and query running."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk_shared import sla_events as sla
from tests.sla.scenario import as_utc, msk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def _release(desk: Any, kind: str, date: str) -> str:
    response = desk.client.post("/v1/releases", json={"name": f"{kind} {date}", "kind": kind, "date": date},
                                headers=desk.desk.agent)
    assert response.status_code == 201, response.text
    desk.settle()
    return str(response.json()["id"])


def _resolution(desk: Any, tid: str) -> sla.TargetSet:
    return [f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"][-1]


def _unplanned(desk: Any) -> set[str]:
    response = httpx.get(f"{desk.query.url}/v1/tickets", headers=desk.desk.agent, timeout=10,
                         params={"unplanned": "true", "customer_id": desk.desk.customer_id})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def _lists_unplanned(desk: Any, expected: set[str]) -> None:
    try:
        wait_until(lambda: _unplanned(desk) == expected, timeout=10)
    except TimeoutError:
        raise AssertionError(f"?unplanned=true listed {_unplanned(desk)}, expected {expected}") from None


def test_imc9_release_bound_targets_bind_replan_on_redating_and_breach_when_the_release_passes(
        start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 9, 0), query=True)  # Monday
    scheduled = _release(desk, "scheduled", "2026-02-04")
    normal, high, fresh, waiting = (desk.open(category="error", priority=p) for p in ("normal", "high", "low", "low"))
    desk.analyse(normal, planned_date="2026-02-04")
    desk.analyse(high, release=scheduled)  # promised for the scheduled release, but its rule is next_unscheduled
    desk.act(waiting, "request_clarification")
    bound = _resolution(desk, normal)  # next_scheduled: the Wednesday release, due at its close of business
    assert (bound.release, bound.release_id, as_utc(bound.due_at)) == (
        "next_scheduled", scheduled, as_utc(msk(2026, 2, 4, 18, 0)))
    assert _resolution(desk, high).release_id == scheduled  # the promise wins over the rule's choice
    _lists_unplanned(desk, {fresh})  # IMC-7: new without a plan; a waiting ticket needs none yet

    desk.triage(high, release=None)  # no promise: next_unscheduled, and there is none
    unplanned = _resolution(desk, high)
    assert (unplanned.release, unplanned.release_id, unplanned.due_at) == ("next_unscheduled", None, None)
    _lists_unplanned(desk, {fresh, high})
    update = _release(desk, "unscheduled", "2026-02-06")  # planning one binds the unplanned target
    assert (_resolution(desk, high).release_id, as_utc(_resolution(desk, high).due_at)) == (
        update, as_utc(msk(2026, 2, 6, 18, 0)))
    _lists_unplanned(desk, {fresh})

    redated = desk.client.patch(f"/v1/releases/{scheduled}", json={"date": "2026-02-11"}, headers=desk.desk.agent)
    assert redated.status_code == 200, redated.text
    desk.settle()
    assert as_utc(_resolution(desk, normal).due_at) == as_utc(msk(2026, 2, 11, 18, 0))  # re-planned
    desk.move_to(msk(2026, 2, 4, 18, 1))
    assert not [b for b in desk.of(normal, sla.Breached) if b.kind == "resolution"]
    desk.move_to(msk(2026, 2, 11, 18, 1))  # the release passed with the ticket unresolved
    [breached] = [b for b in desk.of(normal, sla.Breached) if b.kind == "resolution"]
    assert as_utc(breached.due_at) == as_utc(msk(2026, 2, 11, 18, 0))
    ticket = httpx.get(f"{desk.query.url}/v1/tickets/{normal}", headers=desk.desk.agent, timeout=10).json()
    [target] = [t for t in ticket["sla"]["targets"] if t["kind"] == "resolution"]
    assert (target["state"], target["release"], target["release_id"]) == ("breached", "next_scheduled", scheduled)
