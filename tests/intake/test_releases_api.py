"""Releases over intake's HTTP API (IMC-9) and primary analysis before ``accept`` (IMC-5), on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from litestar.testing import TestClient

from tests.intake.test_bad_input import assert_problem
from tests.support.desk import Desk, provision

TODAY = dt.datetime.now(dt.UTC).date()


def plan(desk: Desk, **body) -> dict:
    response = desk.client.post("/v1/releases", json={"name": "2026.4", "kind": "scheduled",
                                                      "date": str(TODAY + dt.timedelta(days=30)), **body},
                                headers=desk.agent)
    assert response.status_code == 201, response.text
    assert int(response.headers["Helpdesk-Position"]) > 0
    return response.json()


def test_imc9_agents_plan_releases_and_every_signed_in_user_lists_them(desk: Desk) -> None:
    release = plan(desk, name=f"r-{uuid.uuid4().hex[:6]}", kind="unscheduled")
    assert release["kind"] == "unscheduled" and release["version"] == 1
    for reader in (desk.customer, desk.auditor, desk.agent):
        listed = desk.client.get("/v1/releases", headers=reader)
        assert listed.status_code == 200
        assert {k: release[k] for k in ("id", "name", "kind", "date")} in listed.json()["items"]
    assert desk.client.get(f"/v1/releases/{release['id']}", headers=desk.customer).json() == release
    assert desk.client.get("/v1/releases").status_code == 401


def test_imc9_redating_and_renaming_a_release(desk: Desk) -> None:
    release = plan(desk)
    later = str(TODAY + dt.timedelta(days=60))
    changed = desk.client.patch(f"/v1/releases/{release['id']}", json={"date": later, "name": "2026.5"},
                                headers=desk.admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["date"], changed.json()["name"], changed.json()["version"]) == (later, "2026.5", 3)
    listed = {r["id"]: r for r in desk.client.get("/v1/releases", headers=desk.customer).json()["items"]}
    assert (listed[release["id"]]["date"], listed[release["id"]]["name"]) == (later, "2026.5")


@pytest.mark.parametrize(("method", "body", "status", "field"), [
    ("post", {"date": str(TODAY - dt.timedelta(days=1))}, 422, "date"),   # in the past
    ("post", {"date": "9999-12-31"}, 422, "date"),                       # a typo years ahead
    ("post", {"kind": "weekly"}, 400, "kind"),                           # wrong kind
    ("post", {"name": ""}, 400, "name"),
    ("post", {"date": "tomorrow"}, 400, "date"),
    ("patch", {"date": str(TODAY - dt.timedelta(days=1))}, 422, "date"),
    ("patch", {"kind": "unscheduled"}, 400, "kind"),                      # a release keeps its kind
])
def test_imc9_bad_releases_are_refused_and_write_nothing(desk: Desk, event_count, method: str, body: dict,
                                                        status: int, field: str) -> None:
    release = plan(desk)
    events = event_count()
    if method == "post":
        full = {"name": "x", "kind": "scheduled", "date": str(TODAY), **body}
        response = desk.client.post("/v1/releases", json=full, headers=desk.agent)
    else:
        response = desk.client.patch(f"/v1/releases/{release['id']}", json=body, headers=desk.agent)
    problem = assert_problem(response, status, "validation_failed")
    assert field in str(problem.get("errors", problem["detail"]))
    assert event_count() == events


def test_imc9_customers_may_not_plan_and_unknown_releases_are_not_found(desk: Desk, event_count) -> None:
    events = event_count()
    body = {"name": "x", "kind": "scheduled", "date": str(TODAY)}
    assert_problem(desk.client.post("/v1/releases", json=body, headers=desk.customer), 403, "forbidden")
    assert_problem(desk.client.patch(f"/v1/releases/{uuid.uuid4()}", json={"name": "y"}, headers=desk.agent),
                   404, "not_found")
    assert_problem(desk.client.get("/v1/releases/nope", headers=desk.agent), 404, "not_found")
    assert event_count() == events


def test_imc9_a_ticket_is_promised_for_a_known_release_only(desk: Desk, event_count) -> None:
    ticket = desk.open()
    events = event_count()
    for unknown in (str(uuid.uuid4()), "not-a-release"):
        response = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"release": unknown}, headers=desk.agent)
        assert assert_problem(response, 422, "validation_failed")["errors"][0]["field"] == "release"
    ticket_not_a_release = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"release": ticket["id"]},
                                             headers=desk.agent)
    assert_problem(ticket_not_a_release, 422, "validation_failed")
    assert event_count() == events
    release = plan(desk)
    promised = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"release": release["id"]}, headers=desk.agent)
    assert promised.status_code == 200 and promised.json()["version"] == 2


def test_imc5_accept_under_imc_names_each_missing_part_of_primary_analysis(client: TestClient, event_count) -> None:
    desk = provision(client, policy="imc")
    ticket = desk.open()
    events = event_count()
    refused = assert_problem(desk.act(ticket["id"], "accept"), 422, "validation_failed")
    assert [e["field"] for e in refused["errors"]] == ["category", "responsible_id", "planned_date"]
    assert event_count() == events
    release = plan(desk)
    triaged = desk.client.patch(f"/v1/tickets/{ticket['id']}", headers=desk.agent, json={
        "category": "error", "priority": "high", "responsible_id": "agent-7", "release": release["id"]})
    assert triaged.status_code == 200, triaged.text
    assert desk.act(ticket["id"], "accept").json()["status"] == "in_progress"
