"""The remaining windows on the simulated clock: TEL-3 follow-up, TEL-4 development reaction,
IMC-4 and KS-6 callbacks (met by a logged call), IMC-8 untriaged tickets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk_shared import sla_events as sla
from tests.sla.scenario import as_utc, msk

pytestmark = [pytest.mark.e2e]
MONDAY = msk(2026, 2, 2, 10, 0)  # a plain working week: no holidays until 23 February


def _kinds(desk: Any, tid: str, fact: type[sla.SlaFact]) -> dict[str, Any]:
    """The newest fact of type ``fact`` per target kind."""
    return {f.kind: f for f in desk.of(tid, fact)}


def _log_call(desk: Any, tid: str) -> None:
    response = desk.client.post(f"/v1/tickets/{tid}/comments", headers=desk.desk.agent,
                                json={"body": "called back: the fix is in 4.2", "call": True})
    assert response.status_code == 201, response.text
    desk.settle()


def test_tel3_information_the_customer_adds_gets_the_channels_reaction_time(start_desk: Any) -> None:
    desk = start_desk("telemed", start=msk(2026, 2, 7, 12, 0))
    tid = desk.open(channel="chat")
    desk.comment(tid, "looking into it", as_customer=False)  # the first response, in time
    desk.move_to(msk(2026, 2, 7, 13, 0))
    desk.comment(tid, "also: it happens on Android only")
    follow_up = _kinds(desk, tid, sla.TargetSet)["follow_up"]
    assert as_utc(follow_up.due_at) == as_utc(msk(2026, 2, 7, 13, 10))  # chat: 10 working minutes
    desk.move_to(msk(2026, 2, 7, 13, 11))
    assert _kinds(desk, tid, sla.Breached).keys() == {"follow_up"}


def test_tel4_development_reaction_runs_beside_the_met_first_response(start_desk: Any) -> None:
    desk = start_desk("telemed", start=msk(2026, 2, 7, 12, 0))
    tid = desk.open(channel="email")
    desk.act(tid, "accept")
    desk.act(tid, "send_to_development")
    reaction = _kinds(desk, tid, sla.TargetSet)["development_reaction"]
    assert as_utc(reaction.due_at) == as_utc(msk(2026, 2, 10, 12, 0))  # 3 bd, every day a business day
    [first] = desk.of(tid, sla.Met)
    assert first.kind == "first_response" and not first.breached  # on record, not replaced
    desk.comment(tid, "the developers have it", as_customer=False)
    assert _kinds(desk, tid, sla.Met).keys() == {"first_response", "development_reaction"}


def test_imc4_a_phone_request_gets_a_callback_besides_the_primary_analysis(start_desk: Any) -> None:
    desk = start_desk("imc", start=MONDAY)
    tid = desk.open(headers=desk.desk.agent, channel="phone", customer_id=desk.desk.customer_id)
    targets = _kinds(desk, tid, sla.TargetSet)
    assert as_utc(targets["first_response"].due_at) == as_utc(msk(2026, 2, 3, 10, 0))  # IMC-5: 1 bd
    assert as_utc(targets["callback"].due_at) == as_utc(msk(2026, 2, 5, 10, 0))  # IMC-4: 3 bd
    desk.analyse(tid, category="support", planned_date="2026-12-31")  # IMC-5, then accept
    assert "callback" not in _kinds(desk, tid, sla.Met)  # accepting is not calling back
    _log_call(desk, tid)
    assert not _kinds(desk, tid, sla.Met)["callback"].breached


def test_ks6_a_phone_requests_solution_is_a_callback_for_the_agent(start_desk: Any) -> None:
    desk = start_desk("keysystems", start=MONDAY)
    tid = desk.open(headers=desk.desk.agent, channel="phone", customer_id=desk.desk.customer_id)
    desk.act(tid, "accept")
    assert "callback" not in _kinds(desk, tid, sla.TargetSet)
    desk.act(tid, "propose_solution", comment="restart the service")
    callback = _kinds(desk, tid, sla.TargetSet)["callback"]
    assert as_utc(callback.due_at) == as_utc(msk(2026, 2, 3, 10, 0))  # 1 bd (the preset's choice)
    desk.move_to(msk(2026, 2, 3, 10, 1))
    assert "callback" in _kinds(desk, tid, sla.Breached)
    _log_call(desk, tid)
    assert _kinds(desk, tid, sla.Met)["callback"].breached  # met late: the call is on record


def test_imc8_an_untriaged_ticket_shows_untriaged_until_category_and_priority_name_its_target(
        start_desk: Any) -> None:
    desk = start_desk("imc", start=MONDAY, query=True)
    opened = desk.client.post("/v1/tickets", json={"subject": "Report", "description": "Totals are off"},
                              headers=desk.desk.customer)  # no category: IMC-8 cannot time its resolution
    assert opened.status_code == 201, opened.text
    tid, position = opened.json()["id"], int(opened.headers["Helpdesk-Position"])

    def block(at: int | None = None) -> dict[str, Any]:
        headers = {**desk.desk.agent, **({"Helpdesk-Min-Position": str(at)} if at else {})}
        answer = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["sla"]

    assert block(position)["untriaged"] is True
    desk.triage(tid, category="support", priority="normal")  # settle: every consumer caught up
    assert block()["untriaged"] is False
    assert desk.of(tid, sla.Untriaged) and desk.of(tid, sla.Triaged)

