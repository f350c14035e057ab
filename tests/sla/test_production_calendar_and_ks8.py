"""KS-8 from the solution's delivery and provisional deadlines, on the simulated clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies import calendar_of, load_policies
from tests.sla.scenario import msk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def test_ks8_a_ticket_left_in_testing_closes_as_done_when_the_window_ends(start_desk: Any) -> None:
    # Delivered Monday 2026-02-02 12:00 (no holidays that week): an error's 2 bd end Wednesday 12:00.
    desk = start_desk("keysystems", start=msk(2026, 2, 2, 11, 0))
    tid = desk.open(category="error")
    desk.act(tid, "accept")
    desk.move_to(msk(2026, 2, 2, 12, 0))
    desk.act(tid, "propose_solution", comment="исправлено")
    desk.move_to(msk(2026, 2, 4, 11, 59))
    assert desk.status(tid) == "customer_testing"
    desk.move_to(msk(2026, 2, 4, 12, 1))
    closed = desk.ticket_facts(tid)[-1]
    assert isinstance(closed, ev.SolutionAccepted) and closed.automatic and "KS-8" in (closed.reason or "")
    refused = desk.desk.act(tid, "return_to_work", headers=desk.desk.customer, comment="всё ещё не работает")
    assert refused.status_code == 409 and refused.json()["code"] == "reopen_window_closed", refused.text


def _provisional_count(desk: Any) -> float:
    text = httpx.get(f"{desk.sla[0].url}/metrics", timeout=10).text
    lines = [line for line in text.splitlines() if line.startswith("helpdesk_sla_provisional_deadlines_total ")]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_production_calendar_a_deadline_past_the_published_data_is_provisional(start_desk: Any) -> None:
    published = calendar_of(load_policies()["imc"]).published_through
    assert published is not None
    desk = start_desk("imc", start=msk(published, 12, 29, 10, 0), query=True)
    tid = desk.open(category="support", priority="normal")
    desk.analyse(tid, planned_date=f"{published + 1}-01-31")  # IMC-5; 5 bd: they end in the next, unpublished year
    [resolution] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"]
    assert resolution.due_at.year == published + 1 and resolution.provisional
    [analysis] = [f for f in desk.of(tid, sla.TargetSet) if f.kind == "first_response"]
    assert not analysis.provisional  # due on 30 December, inside the published year
    assert _provisional_count(desk) >= 1

    def shown() -> dict[str, Any] | None:
        response = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", headers=desk.desk.agent, timeout=10)
        found = [t for t in response.json()["sla"]["targets"] if t["kind"] == "resolution"]
        return found[0] if found else None
    assert wait_until(shown, timeout=10)["provisional"] is True
