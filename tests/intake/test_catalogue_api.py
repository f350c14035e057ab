"""What a policy offers, over intake's HTTP API on the real PostgreSQL: the catalogue, forms, norm-hours."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.support.desk import PASSWORD, PHONE, Desk, bearer, form_details
from tests.support.mail import deliver, message, ticket_events


def assert_problem(response: Any, status: int, code: str, fields: list[str] | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and response.headers["content-type"].startswith("application/problem+json")
    if fields is not None:
        assert [e["field"] for e in body["errors"]] == fields
    return body


def customer_of(desk: Desk, policy: str, contract: dict[str, Any] | None = None) -> tuple[str, str, dict[str, str]]:
    """A customer under ``policy`` with one user (with a phone): its id, the user's id and token."""
    name = uuid.uuid4().hex[:8]
    body = {"name": name, "email": f"it@{name}.test", "policy": policy, **({"contract": contract} if contract else {})}
    customer = desk.client.post("/v1/customers", json=body, headers=desk.admin).json()["id"]
    user = desk.client.post(f"/v1/customers/{customer}/users", headers=desk.admin, json={
        "name": name, "email": f"u@{name}.test", "login": name, "password": PASSWORD, "phone": PHONE}).json()["id"]
    token = desk.client.post("/v1/auth/token", json={"login": name, "password": PASSWORD}).json()["access_token"]
    return customer, user, bearer(token)


def test_med3_catalogue_answers_in_the_contract_shape_for_a_customer_and_for_staff(desk: Desk) -> None:
    customer, _, user = customer_of(desk, "medis")
    mine = desk.client.get("/v1/catalogue", headers=user)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert set(body) >= {"services", "forms", "priorities", "channels", "deferral_reasons"}
    assert body["priorities"] == ["normal", "high"]
    assert {"code": "5.1", "name": {"ru": "Доп. платный выезд", "en": "Extra site visit"}, "paid_extra": True,
            "children": []} in next(s for s in body["services"] if s["code"] == "5")["children"]
    error_form = next(f for f in body["forms"] if f["category"] == "error")
    assert [(f["name"], f["type"], f["required"]) for f in error_form["fields"]] == [
        ("steps", "text", True), ("examples", "text", True)]
    assert desk.client.get("/v1/catalogue", params={"customer_id": customer}, headers=desk.agent).json() == body
    assert_problem(desk.client.get("/v1/catalogue", headers=desk.agent), 422, "validation_failed", ["customer_id"])
    assert_problem(desk.client.get("/v1/catalogue", params={"customer_id": desk.customer_id}, headers=user),
                   404, "not_found")
    assert_problem(desk.client.get("/v1/catalogue", params={"customer_id": "nope"}, headers=desk.agent),
                   404, "not_found")


def test_tel9_the_telemed_catalogue_serves_its_deferral_reasons_and_channels(desk: Desk) -> None:
    _, _, user = customer_of(desk, "telemed")
    body = desk.client.get("/v1/catalogue", headers=user).json()
    assert body["channels"] == ["chat", "email"] and len(body["deferral_reasons"]) == 7
    platform = next(f for f in body["forms"][0]["fields"] if f["name"] == "platform")
    assert platform["type"] == "choice" and platform["choices"] == ["ios", "android", "web"]


def test_med3_an_unknown_service_code_is_422_and_writes_nothing(desk: Desk, event_count) -> None:
    _, _, user = customer_of(desk, "medis")
    events = event_count()
    refused = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "service": "9.9"}, headers=user)
    assert_problem(refused, 422, "validation_failed", ["service"])
    assert event_count() == events


def test_med2_a_priority_medis_does_not_offer_is_422(desk: Desk, event_count) -> None:
    _, _, user = customer_of(desk, "medis")
    events = event_count()
    refused = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "priority": "urgent"},
                               headers=user)
    assert_problem(refused, 422, "validation_failed", ["priority"])
    assert event_count() == events


def test_tel5_a_channel_the_policy_does_not_register_is_422_channel_closed(desk: Desk, event_count) -> None:
    customer, requester, _ = customer_of(desk, "endocs")
    events = event_count()
    body = {"subject": "s", "description": "d", "channel": "phone", "customer_id": customer,
            "requester_id": requester, "details": form_details("endocs")}
    assert_problem(desk.client.post("/v1/tickets", json=body, headers=desk.agent), 422, "channel_closed", ["channel"])
    assert event_count() == events


def test_ks7_missing_and_wrong_details_are_422_naming_each_field(desk: Desk, event_count) -> None:
    events = event_count()
    missing = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "category": "improvement"},
                               headers=desk.customer)
    assert_problem(missing, 422, "validation_failed", ["details.entity", "details.desired_deadline"])
    wrong = desk.client.post("/v1/tickets", headers=desk.customer, json={
        "subject": "s", "description": "d", "category": "improvement",
        "details": {"entity": "inv 1", "desired_deadline": 20260401, "colour": "red"}})
    assert_problem(wrong, 422, "validation_failed", ["details.desired_deadline", "details.colour"])
    oversized = desk.client.post("/v1/tickets", headers=desk.customer, json={
        "subject": "s", "description": "d", "details": {"entity": "x" * 5000}})
    assert oversized.status_code in (400, 422) and oversized.json()["code"] == "validation_failed"
    too_many = desk.client.post("/v1/tickets", headers=desk.customer, json={
        "subject": "s", "description": "d", "details": {f"f{i}": "x" for i in range(40)}})
    assert too_many.status_code in (400, 422) and too_many.json()["code"] == "validation_failed"
    assert event_count() == events


def test_ks7_details_are_kept_and_a_patch_records_details_changed(desk: Desk, database_url: str) -> None:
    ticket = desk.open(category="improvement")
    patched = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"details": {"entity": "act 7"}},
                                headers=desk.agent)
    assert patched.status_code == 200, patched.text
    assert_problem(desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"details": {"desired_deadline": "soon"}},
                                     headers=desk.agent), 422, "validation_failed", ["details.desired_deadline"])
    with psycopg.connect(database_url) as conn:
        topics = [r[0] for r in conn.execute(
            "SELECT topic FROM intake.intake_events WHERE originator_id = %s ORDER BY originator_version",
            (ticket["id"],))]
    assert topics == ["helpdesk:Ticket.Opened", "helpdesk:Ticket.DetailsChanged"]


def test_ks9_keysystems_users_must_have_a_phone(desk: Desk, event_count) -> None:
    events = event_count()
    refused = desk.client.post(f"/v1/customers/{desk.customer_id}/users", headers=desk.admin, json={
        "name": "n", "email": "n@acme.test", "login": f"n-{uuid.uuid4().hex[:6]}", "password": PASSWORD})
    assert_problem(refused, 422, "validation_failed", ["phone"])
    assert event_count() == events


def test_tel7_a_staff_filed_request_names_a_registered_requester_of_that_customer(desk: Desk) -> None:
    body = {"subject": "s", "description": "d", "channel": "phone", "customer_id": desk.customer_id,
            "details": form_details("keysystems")}
    assert_problem(desk.client.post("/v1/tickets", json=body, headers=desk.agent), 422, "validation_failed",
                   ["requester_id"])
    for stranger in (str(uuid.uuid4()), desk.users[desk.other_customer_id]):
        assert_problem(desk.client.post("/v1/tickets", json={**body, "requester_id": stranger}, headers=desk.agent),
                       422, "validation_failed", ["requester_id"])


def budgeted(desk: Desk, hours: float, **contract: Any) -> tuple[str, dict[str, str]]:
    customer, _, user = customer_of(desk, "medis", {"monthly_hours": hours, **contract})
    return customer, user


def planned(desk: Desk, user: dict[str, str], minutes: int | None, service: str = "6.1") -> str:
    ticket = desk.open(headers=user, service=service, details={})
    if minutes is not None:
        answer = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"planned_minutes": minutes}, headers=desk.agent)
        assert answer.status_code == 200, answer.text
    return ticket["id"]


def test_med12_accepting_needs_planned_minutes_and_stays_within_the_months_budget(desk: Desk, event_count) -> None:
    _, user = budgeted(desk, 2)
    unplanned = planned(desk, user, None)
    assert_problem(desk.act(unplanned, "accept"), 422, "validation_failed", ["planned_minutes"])
    first = planned(desk, user, 90)
    assert desk.act(first, "accept").status_code == 200
    second = planned(desk, user, 60)
    events = event_count()
    assert_problem(desk.act(second, "accept"), 409, "budget_exceeded")
    assert event_count() == events
    paid = planned(desk, user, 600, service="5.2")  # paid extra: outside the norm-hours
    assert desk.act(paid, "accept").status_code == 200
    fits = planned(desk, user, 30)
    assert desk.act(fits, "accept").status_code == 200


def test_med12_out_of_range_budgets_and_minutes_are_422(desk: Desk) -> None:
    name = uuid.uuid4().hex[:8]
    for hours in (-1, 10**6):
        refused = desk.client.post("/v1/customers", headers=desk.admin, json={
            "name": name, "email": f"it@{name}.test", "policy": "medis", "contract": {"monthly_hours": hours}})
        assert refused.status_code in (400, 422) and refused.json()["code"] == "validation_failed"
    ticket = desk.open()
    for minutes in (-5, 10**9):
        refused = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"planned_minutes": minutes},
                                    headers=desk.agent)
        assert refused.status_code in (400, 422) and refused.json()["code"] == "validation_failed"


def test_end7_billable_time_is_refused_without_paid_support(desk: Desk) -> None:
    customer, requester, _ = customer_of(desk, "endocs")
    paid, paid_requester, _ = customer_of(desk, "endocs", {"paid_support": True})
    free = desk.open(headers=desk.agent, customer_id=customer, requester_id=requester, details=form_details("endocs"))
    path = f"/v1/tickets/{free['id']}/time-entries"
    assert_problem(desk.client.post(path, json={"minutes": 10, "billable": True}, headers=desk.agent),
                   422, "validation_failed", ["billable"])
    unbilled = desk.client.post(path, json={"minutes": 10}, headers=desk.agent)
    assert unbilled.status_code == 201 and unbilled.json()["billed_minutes"] == 0
    billed = desk.open(headers=desk.agent, customer_id=paid, requester_id=paid_requester,
                       details=form_details("endocs"))
    entry = desk.client.post(f"/v1/tickets/{billed['id']}/time-entries", json={"minutes": 10}, headers=desk.agent)
    assert entry.status_code == 201 and entry.json()["billed_minutes"] == 30  # END-6 rounding


def test_ks7_a_mailed_request_missing_details_is_registered_and_flagged_incomplete(desk: Desk,
                                                                                    database_url: str) -> None:
    answer = deliver(desk.client, message("user@acme.test", "Не печатает", "Ошибка E-17."))
    assert answer.status_code == 201 and answer.json()["outcome"] == "registered", answer.text
    (opened,) = ticket_events(database_url, answer.json()["ticket_id"])
    assert opened["missing_details"] == ["details.entity"] and opened["details"] == {}
