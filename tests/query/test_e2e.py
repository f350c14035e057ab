"""intake, its relay and query as real processes: read-your-writes, isolation, as_of, export."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.query.desk import Caller, Desk
from tests.support.stream import read_all
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def desk(services: Any) -> Iterator[Desk]:
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    query = services.start("query", "serve")
    client = Desk(intake.url, query.url)
    try:
        yield client
    finally:
        client.close()


def _ticket_with_comments(desk: Desk, customer: Caller, agent: Caller) -> tuple[str, int]:
    opened, _ = desk.command(customer, "POST", "/v1/tickets",
                             {"subject": "Принтер не печатает", "description": "Printer is on fire"})
    tid = opened["id"]
    desk.command(agent, "POST", f"/v1/tickets/{tid}/actions/accept")
    desk.command(agent, "POST", f"/v1/tickets/{tid}/comments", {"body": "vendor bug", "visibility": "internal"})
    _, position = desk.command(agent, "POST", f"/v1/tickets/{tid}/comments", {"body": "we are on it"})
    return tid, position


def test_read_your_writes_min_position_waits_for_the_projection(desk: Desk) -> None:
    customer, agent = desk.customer("acme"), desk.staff("agent")
    opened, position = desk.command(customer, "POST", "/v1/tickets", {"subject": "VPN", "description": "down"})
    for step in range(3):
        ticket = desk.read(customer, f"/v1/tickets/{opened['id']}", position)
        assert ticket.status_code == 200, ticket.text
        assert ticket.json()["position"] >= position
        answer, position = desk.command(agent, "POST", f"/v1/tickets/{opened['id']}/time-entries",
                                        {"minutes": 10})
    listed = desk.read(agent, "/v1/tickets", position).json()["items"]
    assert [(t["id"], t["spent_minutes"]) for t in listed] == [(opened["id"], 30)]


def test_med5_planned_time_planned_date_and_actual_time_read_back_from_the_ticket(desk: Desk) -> None:
    customer, agent = desk.customer("acme"), desk.staff("agent")
    opened, _ = desk.command(customer, "POST", "/v1/tickets", {"subject": "Report", "description": "wrong sums"})
    tid = opened["id"]
    desk.command(agent, "PATCH", f"/v1/tickets/{tid}", {"planned_minutes": 240, "planned_date": "2026-12-15"})
    desk.command(agent, "POST", f"/v1/tickets/{tid}/time-entries", {"minutes": 45})
    _, position = desk.command(agent, "POST", f"/v1/tickets/{tid}/time-entries", {"minutes": 30})
    for reader in (agent, customer):
        ticket = desk.read(reader, f"/v1/tickets/{tid}", position).json()
        assert (ticket["planned_minutes"], ticket["planned_date"], ticket["spent_minutes"]) == (240, "2026-12-15", 75)
    listed = desk.read(agent, "/v1/tickets", position, unplanned="false").json()["items"]
    assert tid in {t["id"] for t in listed}  # IMC-7: a planned date is a plan


def test_min_position_of_an_event_that_is_no_tickets_answers_once_the_stream_covers_it(desk: Desk) -> None:
    customer = desk.customer("acme")
    desk.command(customer, "POST", "/v1/tickets", {"subject": "VPN", "description": "down"})
    # the newest event is a customer's (provisioning another customer): no ticket event is at its position
    _, position = desk.command(desk.admin, "POST", "/v1/customers",
                               {"name": "Other", "email": "it@other.test", "policy": "keysystems"})
    started = time.monotonic()
    response = desk.read(desk.admin, "/v1/tickets", position)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 2  # not the 5 s timeout


def test_min_position_not_reached_answers_504_timeout_problem_after_5_s(desk: Desk) -> None:
    started = time.monotonic()
    response = desk.read(desk.admin, "/v1/tickets", 10**12)
    assert 5 <= time.monotonic() - started < 7
    assert response.status_code == 504
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "timeout"


def test_customer_isolation_on_every_endpoint(desk: Desk) -> None:
    acme, globex = desk.customer("acme"), desk.customer("globex")
    agent, auditor = desk.staff("agent"), desk.staff("auditor")
    tid, position = _ticket_with_comments(desk, acme, agent)
    at = "2100-01-01T00:00:00Z"
    # another customer's employee: not found everywhere, an empty list, no export
    assert desk.read(globex, "/v1/tickets", position).json() == {"items": [], "next_cursor": None}
    assert desk.read(globex, "/v1/tickets", customer_id=acme.customer_id).json()["items"] == []
    for path, params in ((f"/v1/tickets/{tid}", {}), (f"/v1/tickets/{tid}", {"as_of": at}),
                         (f"/v1/tickets/{tid}/history", {})):
        response = desk.read(globex, path, **params)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), path
    for caller in (globex, acme, agent):
        assert desk.read(caller, "/v1/events").status_code == 403
    # the owner: its ticket, without internal comments, in every view
    assert [t["id"] for t in desk.read(acme, "/v1/tickets").json()["items"]] == [tid]
    for params in ({}, {"as_of": at}):
        ticket = desk.read(acme, f"/v1/tickets/{tid}", **params).json()
        assert [c["body"] for c in ticket["comments"]] == ["we are on it"]
    history = desk.read(acme, f"/v1/tickets/{tid}/history").json()["items"]
    assert "vendor bug" not in json.dumps(history) and len(history) == 3
    # staff and auditors see everything
    for caller in (agent, auditor):
        ticket = desk.read(caller, f"/v1/tickets/{tid}").json()
        assert [c["body"] for c in ticket["comments"]] == ["vendor bug", "we are on it"]
        assert len(desk.read(caller, f"/v1/tickets/{tid}/history").json()["items"]) == 4
    assert desk.read(auditor, "/v1/events").status_code == 200


def test_card8_as_of_rebuilds_the_ticket_at_several_instants(desk: Desk) -> None:
    customer, agent = desk.customer("acme"), desk.staff("agent")
    opened, _ = desk.command(customer, "POST", "/v1/tickets", {"subject": "Отчёт", "description": "пустой"})
    tid = opened["id"]
    steps = [("PATCH", f"/v1/tickets/{tid}", {"priority": "high", "planned_minutes": 90}),
             ("POST", f"/v1/tickets/{tid}/actions/accept", None),
             ("POST", f"/v1/tickets/{tid}/time-entries", {"minutes": 25}),
             ("POST", f"/v1/tickets/{tid}/actions/request_clarification", {"comment": "which month?"})]
    position = 0
    for method, path, body in steps:
        _, position = desk.command(agent, method, path, body)
    history = desk.read(agent, f"/v1/tickets/{tid}/history", position).json()["items"]
    assert [h["type"].rsplit(".", 1)[1] for h in history] == [
        "opened", "priority_changed", "plan_changed", "accepted", "time_logged", "clarification_requested"]
    for event in history:  # at an instant, every event of that instant has happened (one PATCH, two facts)
        then = desk.read(agent, f"/v1/tickets/{tid}", as_of=event["time"]).json()
        latest = [e for e in history if e["time"] == event["time"]][-1]
        assert (then["version"], then["status"], then["position"]) == (
            latest["data"]["version"], latest["data"]["status"], latest["position"])
    first = desk.read(agent, f"/v1/tickets/{tid}", as_of=history[0]["time"]).json()
    assert (first["priority"], first["spent_minutes"], first["comments"]) == ("normal", 0, [])
    before = desk.read(agent, f"/v1/tickets/{tid}", as_of="2000-01-01T00:00:00+03:00")
    assert before.status_code == 404
    now = desk.read(agent, f"/v1/tickets/{tid}").json()
    last = desk.read(agent, f"/v1/tickets/{tid}", as_of=history[-1]["time"]).json()
    assert {k: v for k, v in last.items() if k != "as_of"} == {k: v for k, v in now.items() if k != "allowed_actions"}
    assert now["allowed_actions"] == ["reject"] and "allowed_actions" not in last  # what may be done now, not then
    assert desk.read(agent, f"/v1/tickets/{tid}", as_of="yesterday").json()["code"] == "validation_failed"


def test_card8_event_export_pages_and_ndjson_stream_the_same_log_in_order(desk: Desk) -> None:
    customer, agent, auditor = desk.customer("acme"), desk.staff("agent"), desk.staff("auditor")
    _, position = _ticket_with_comments(desk, customer, agent)
    _, position = _ticket_with_comments(desk, customer, agent)
    paged, after = [], 0
    while True:
        page = desk.read(auditor, "/v1/events", position, after=after, limit=3).json()
        paged += page["items"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    streamed = desk.query.get("/v1/events", headers={**auditor.auth, "Accept": "application/x-ndjson"})
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert lines == paged
    assert [e["sequence"] for e in lines] == sorted({e["sequence"] for e in lines})
    assert all(e["specversion"] == "1.0" for e in lines)
    assert len([e for e in lines if e["type"].startswith("helpdesk.ticket.")]) == 8
    tail = desk.read(auditor, "/v1/events", after=lines[4]["sequence"]).json()["items"]
    assert tail == lines[5:]


def test_card8_the_audit_export_covers_the_whole_log_every_family_in_stream_order(
        services: Any, nats_url: str) -> None:
    """Tickets, customers, users and SLA facts (their own ``sequence``): paged or streamed, all of it."""
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    query, _ = services.start("query", "serve"), services.start("sla", "serve")
    desk = Desk(intake.url, query.url)
    try:
        customer, agent, auditor = desk.customer("acme"), desk.staff("agent"), desk.staff("auditor")
        tid, position = _ticket_with_comments(desk, customer, agent)
        wait_until(lambda: read_all(nats_url, f"helpdesk.sla.{tid}.>"), timeout=30)
        stream = [json.loads(m.data) for m in read_all(nats_url, "helpdesk.>")]
        assert {e["type"].split(".")[1] for e in stream} >= {"ticket", "customer", "user", "sla"}
        streamed = desk.query.get("/v1/events", headers={**auditor.auth, "Accept": "application/x-ndjson"})
        assert [json.loads(line) for line in streamed.text.splitlines()][:len(stream)] == stream
        for limit in (1, 2, 5):  # pages end on relayed events: no SLA fact repeated or skipped
            paged, after = [], 0
            while after is not None:
                page = desk.read(auditor, "/v1/events", position, after=after, limit=limit).json()
                paged, after = paged + page["items"], page["next_after"]
            assert [e["id"] for e in paged][:len(stream)] == [e["id"] for e in stream], limit
    finally:
        desk.close()
