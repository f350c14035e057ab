"""TEL-9 defer/resume and END-5 third party through intake's HTTP API over the real PostgreSQL."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.intake.test_bad_input import assert_problem
from tests.support.desk import Desk, provision


@pytest.fixture
def telemed(client: TestClient) -> Desk:
    return provision(client, policy="telemed")


def test_tel9_api_defer_with_a_listed_reason_and_resume(telemed: Desk) -> None:
    ticket = telemed.open(channel="chat")
    deferred = telemed.act(ticket["id"], "defer", reason="needs_development", comment="waits for 2.4")
    assert deferred.status_code == 200, deferred.text
    assert deferred.json()["status"] == "deferred"
    resumed = telemed.act(ticket["id"], "resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "in_progress"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "bored"}, {"reason": "  abusive  x"}])
def test_tel9_api_defer_without_a_reason_of_the_list_is_422_and_writes_nothing(
        telemed: Desk, event_count, body: dict) -> None:
    ticket = telemed.open(channel="chat")
    events = event_count()
    problem = assert_problem(telemed.act(ticket["id"], "defer", **body), 422, "validation_failed")
    assert problem["errors"][0]["field"] == "reason"
    assert event_count() == events


def test_tel9_api_customers_may_not_defer_and_resume_needs_a_deferred_ticket(telemed: Desk, event_count) -> None:
    ticket = telemed.open(channel="chat")
    events = event_count()
    assert_problem(telemed.act(ticket["id"], "defer", headers=telemed.customer, reason="abusive"), 403, "forbidden")
    assert_problem(telemed.act(ticket["id"], "resume"), 409, "invalid_transition")
    assert event_count() == events


def test_end5_api_patch_third_party_marks_and_null_clears(desk: Desk) -> None:
    ticket = desk.open()
    path = f"/v1/tickets/{ticket['id']}"
    marked = desk.client.patch(path, json={"third_party": {"party": "Bank API", "note": "timeouts"}},
                               headers=desk.agent)
    assert marked.status_code == 200, marked.text
    assert marked.json()["version"] == 2
    cleared = desk.client.patch(path, json={"third_party": None}, headers=desk.agent)
    assert cleared.status_code == 200 and cleared.json()["version"] == 3


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"third_party": {"party": ""}}, 400, "party"),
    ({"third_party": {"party": "   "}}, 422, "third_party.party"),
    ({"third_party": {"note": "who?"}}, 400, "party"),
    ({"third_party": {"party": "Bank", "note": "x" * 2001}}, 400, "note"),
    ({"third_party": {"party": "Bank", "colour": "red"}}, 400, "colour"),
    ({"third_party": "Bank"}, 400, "third_party"),
    ({"third_party": {"party": "Ba\u0000nk"}}, 422, "third_party.party"),
])
def test_end5_api_bad_third_party_is_a_problem_and_writes_nothing(
        desk: Desk, event_count, body: dict, status: int, field: str) -> None:
    ticket = desk.open()
    events = event_count()
    response = desk.client.patch(f"/v1/tickets/{ticket['id']}", json=body, headers=desk.agent)
    problem = assert_problem(response, status, "validation_failed")
    assert field in str(problem.get("errors", problem["detail"]))
    assert event_count() == events
