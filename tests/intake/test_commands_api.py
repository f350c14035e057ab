"""intake's HTTP commands over the real PostgreSQL: answers, positions, roles, isolation, idempotency."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.support.desk import KS7, PASSWORD, Desk, bearer


def test_card3_commands_append_events_and_answer_with_number_version_and_position(desk: Desk) -> None:
    opened = desk.client.post("/v1/tickets", json={"subject": "Printer", "description": "On fire", "details": KS7},
                              headers=desk.customer)
    assert opened.status_code == 201
    ticket = opened.json()
    assert ticket["status"] == "new" and ticket["version"] == 1 and ticket["number"].startswith("HD-")
    accepted = desk.act(ticket["id"], "accept")
    assert accepted.status_code == 200
    assert accepted.json() == {**ticket, "status": "in_progress", "version": 2}
    assert int(accepted.headers["Helpdesk-Position"]) > int(opened.headers["Helpdesk-Position"])


def test_ks2_every_request_gets_a_unique_readable_number(desk: Desk) -> None:
    numbers = {desk.open()["number"] for _ in range(5)}
    assert len(numbers) == 5


def test_ks1_agent_registers_a_phone_request_for_a_customer(desk: Desk) -> None:
    ticket = desk.open(headers=desk.agent, channel="phone", customer_id=desk.customer_id)
    assert ticket["status"] == "new"


def test_staff_must_name_the_customer(desk: Desk) -> None:
    response = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.agent)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "customer_id"


def test_customer_isolation_another_customers_ticket_is_not_found(desk: Desk) -> None:
    ticket = desk.open()
    for path, body in ((f"/v1/tickets/{ticket['id']}/comments", {"body": "peek"}),
                       (f"/v1/tickets/{ticket['id']}/actions/reject", {"reason": "mine now"})):
        response = desk.client.post(path, json=body, headers=desk.other_customer)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_auditor_reads_but_never_writes(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.act(ticket["id"], "accept", headers=desk.auditor).status_code == 403
    response = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.auditor)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_only_admins_provision(desk: Desk) -> None:
    body = {"name": "x", "email": "x@x.test", "policy": "medis"}
    assert desk.client.post("/v1/customers", json=body, headers=desk.agent).status_code == 403


def test_med4_wrong_password_is_401_and_a_customer_without_contract_is_blocked(desk: Desk, client: TestClient) -> None:
    login = client.post("/v1/auth/token", json={"login": "nobody", "password": "wrong-password"})
    assert login.status_code == 401 and login.json()["code"] == "unauthorized"
    blocked = client.patch(f"/v1/customers/{desk.customer_id}", json={"contract": {"active": False}},
                           headers=desk.admin)
    assert blocked.status_code == 200
    users = client.post(f"/v1/customers/{desk.customer_id}/users", headers=desk.admin, json={
        "name": "late", "email": "late@acme.test", "login": "late-user", "password": PASSWORD,
        "phone": "+7 495 000-00-00"})
    assert users.status_code == 201
    refused = client.post("/v1/auth/token", json={"login": "late-user", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    # A token issued before the block no longer opens tickets either (MED-4).
    assert client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7},
                       headers=desk.customer).status_code == 403


def test_duplicate_login_is_refused(desk: Desk, client: TestClient) -> None:
    body = {"name": "a", "email": "a@a.test", "login": "twin", "password": PASSWORD, "role": "agent"}
    assert client.post("/v1/staff", json=body, headers=desk.admin).status_code == 201
    again = client.post("/v1/staff", json=body, headers=desk.admin)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "login"


def test_unknown_policy_is_refused(desk: Desk) -> None:
    response = desk.client.post("/v1/customers", headers=desk.admin,
                                json={"name": "x", "email": "x@x.test", "policy": "gold"})
    assert response.status_code == 422 and "gold" in response.json()["detail"]


def test_idempotency_key_repeat_returns_the_first_answer_and_appends_nothing(desk: Desk, event_count) -> None:
    headers = {**desk.customer, "Idempotency-Key": "open-42"}
    body = {"subject": "Printer", "description": "On fire", "details": KS7}
    first = desk.client.post("/v1/tickets", json=body, headers=headers)
    events = event_count()
    second = desk.client.post("/v1/tickets", json=body, headers=headers)
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert second.headers["Helpdesk-Position"] == first.headers["Helpdesk-Position"]
    assert event_count() == events
    reused = desk.client.post("/v1/tickets", json={**body, "subject": "Other"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "validation_failed"


def test_idempotency_keys_belong_to_their_caller(desk: Desk) -> None:
    body = {"subject": "Printer", "description": "On fire", "details": KS7}
    mine = desk.client.post("/v1/tickets", json=body, headers={**desk.customer, "Idempotency-Key": "k"})
    theirs = desk.client.post("/v1/tickets", json=body, headers={**desk.other_customer, "Idempotency-Key": "k"})
    assert mine.json()["id"] != theirs.json()["id"]


def test_stale_if_match_is_412_and_current_version_succeeds(desk: Desk, event_count) -> None:
    ticket = desk.open()
    desk.act(ticket["id"], "accept")
    events = event_count()
    stale = desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "late"},
                             headers={**desk.agent, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "version_conflict"
    assert event_count() == events
    fresh = desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "now"},
                             headers={**desk.agent, "If-Match": '"2"'})
    assert fresh.status_code == 201 and fresh.json()["version"] == 3


def test_med5_planned_date_planned_time_and_actual_time_are_recorded(desk: Desk) -> None:
    ticket = desk.open()
    patched = desk.client.patch(f"/v1/tickets/{ticket['id']}", headers=desk.agent, json={
        "priority": "urgent", "category": "error", "planned_date": "2026-12-01", "planned_minutes": 120})
    assert patched.status_code == 200 and patched.json()["version"] == 4
    logged = desk.client.post(f"/v1/tickets/{ticket['id']}/time-entries", json={"minutes": 7},
                              headers=desk.agent)
    assert logged.status_code == 201 and logged.json()["billed_minutes"] == 7
    denied = desk.client.patch(f"/v1/tickets/{ticket['id']}", json={"priority": "low"}, headers=desk.customer)
    assert denied.status_code == 403


def test_ks4_customer_comment_is_the_clarification(desk: Desk) -> None:
    ticket = desk.open()
    desk.act(ticket["id"], "accept")
    desk.act(ticket["id"], "request_clarification", comment="Which printer?")
    reply = desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "The red one"},
                             headers=desk.customer)
    assert reply.status_code == 201 and reply.json()["status"] == "in_progress"


def test_openapi_document_is_served(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert "/v1/tickets/{ticket_id}/actions/{action}" in schema["paths"]


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").status_code == 200
    assert "helpdesk_intake" in client.get("/metrics").text or client.get("/metrics").status_code == 200


def test_expired_and_forged_tokens_are_401(desk: Desk) -> None:
    import jwt

    forged = jwt.encode({"sub": "x", "role": "admin", "iss": "helpdesk", "exp": 9_999_999_999}, "wrong-secret-" + "x" * 32)
    for headers in (bearer(forged), {"Authorization": "Basic abc"}, {}):
        response = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=headers)
        assert response.status_code == 401 and response.json()["code"] == "unauthorized"
