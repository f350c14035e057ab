"""The directory over intake's HTTP API (CONTRACT §2; MED-4, IMC-2): reads, single users, passwords, refresh."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from litestar.testing import TestClient

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal, TokenIssuer
from helpdesk_shared.web.keys import KeyRing
from tests.intake.test_bad_input import assert_problem
from tests.support.desk import PASSWORD, Desk, bearer
from tests.support.mail import deliver, message
from tests.support.tokens import session_keys_dir

NEW_PASSWORD = "a much longer passphrase"


def _users(desk: Desk, customer_id: str) -> list[dict]:
    response = desk.client.get(f"/v1/customers/{customer_id}/users", headers=desk.admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _login(client: TestClient, login: str, password: str = PASSWORD):
    return client.post("/v1/auth/token", json={"login": login, "password": password})


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_directory_staff_page_through_customers_users_and_staff_and_never_see_a_secret(desk: Desk) -> None:
    first = desk.client.get("/v1/customers?limit=1", headers=desk.admin).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = desk.client.get(f"/v1/customers?limit=1&cursor={first['next_cursor']}", headers=desk.agent).json()
    assert second["items"][0]["id"] != first["items"][0]["id"]
    customer = desk.client.get(f"/v1/customers/{desk.customer_id}", headers=desk.auditor).json()
    assert (customer["name"], customer["contract"]["active"], customer["language"]) == ("acme", True, None)
    [user] = _users(desk, desk.customer_id)
    assert (user["role"], user["blocked"], user["active"], user["customer_id"]) == (
        "customer", False, True, desk.customer_id)
    staff = desk.client.get("/v1/staff?limit=200", headers=desk.admin)
    assert {"agent", "auditor"} <= {s["role"] for s in staff.json()["items"]}
    for text in (staff.text, str(user), str(customer)):
        assert "password" not in text and "$argon2" not in text
    assert desk.client.get(f"/v1/users/{user['id']}", headers=desk.agent).json() == user


def test_directory_a_customers_user_reads_its_own_customer_and_colleagues_only(desk: Desk) -> None:
    assert desk.client.get(f"/v1/customers/{desk.customer_id}", headers=desk.customer).status_code == 200
    assert len(desk.client.get(f"/v1/customers/{desk.customer_id}/users", headers=desk.customer).json()["items"]) == 1
    other = desk.other_customer_id
    assert_problem(desk.client.get(f"/v1/customers/{other}", headers=desk.customer), 404, "not_found")
    assert_problem(desk.client.get(f"/v1/customers/{other}/users", headers=desk.customer), 404, "not_found")
    [stranger] = _users(desk, other)
    assert_problem(desk.client.get(f"/v1/users/{stranger['id']}", headers=desk.customer), 404, "not_found")
    for path in ("/v1/customers", "/v1/staff"):
        assert_problem(desk.client.get(path, headers=desk.customer), 403, "forbidden")


def test_med4_a_blocked_user_may_not_sign_in_or_renew_and_unblocking_keeps_old_tokens_revoked(
        desk: Desk, client: TestClient, event_count) -> None:
    [user] = _users(desk, desk.customer_id)
    blocked = client.patch(f"/v1/users/{user['id']}", json={"blocked": True, "reason": "shared the login"},
                           headers=desk.admin)
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    assert_problem(_login(client, user["login"]), 403, "forbidden")
    assert_problem(client.post("/v1/auth/refresh", headers=desk.customer), 403, "forbidden")
    events = event_count()
    assert client.patch(f"/v1/users/{user['id']}", json={"blocked": True}, headers=desk.admin).status_code == 200
    assert event_count() == events  # blocking a blocked user records nothing
    assert client.patch(f"/v1/users/{user['id']}", json={"blocked": False}, headers=desk.admin).status_code == 200
    assert _login(client, user["login"]).status_code == 200
    assert_problem(client.post("/v1/auth/refresh", headers=desk.customer), 401, "unauthorized")


def test_imc2_a_deactivated_user_may_not_sign_in(desk: Desk, client: TestClient) -> None:
    [user] = _users(desk, desk.customer_id)
    answer = client.patch(f"/v1/users/{user['id']}", json={"active": False}, headers=desk.admin)
    assert answer.status_code == 200 and answer.json()["active"] is False
    refused = assert_problem(_login(client, user["login"]), 403, "forbidden")
    assert "deactivated" in refused["detail"]
    history = client.get(f"/v1/customers/{desk.customer_id}/history", headers=desk.admin).json()["items"]
    assert [h["type"] for h in history][-1] == "helpdesk.user.deactivated"
    assert history[0]["type"] == "helpdesk.customer.registered"


def test_an_admin_sets_a_password_and_the_old_one_stops_working(desk: Desk, client: TestClient) -> None:
    [user] = _users(desk, desk.customer_id)
    answer = client.post(f"/v1/users/{user['id']}/password", json={"password": NEW_PASSWORD}, headers=desk.admin)
    assert answer.status_code == 200 and NEW_PASSWORD not in answer.text
    assert_problem(_login(client, user["login"]), 401, "unauthorized")
    assert _login(client, user["login"], NEW_PASSWORD).status_code == 200
    assert_problem(client.post(f"/v1/users/{user['id']}/password", json={"password": NEW_PASSWORD},
                               headers=desk.agent), 403, "forbidden")


def test_a_user_changes_their_own_password_and_keeps_a_session_under_it(desk: Desk, client: TestClient,
                                                                        event_count) -> None:
    [user] = _users(desk, desk.customer_id)
    events = event_count()
    wrong = assert_problem(client.post("/v1/auth/password", json={"current": "not it at all", "new": NEW_PASSWORD},
                                       headers=desk.customer), 422, "validation_failed")
    assert wrong["errors"][0]["field"] == "current"
    assert_problem(client.post("/v1/auth/password", json={"current": PASSWORD, "new": PASSWORD},
                               headers=desk.customer), 422, "validation_failed")
    assert event_count() == events
    changed = client.post("/v1/auth/password", json={"current": PASSWORD, "new": NEW_PASSWORD},
                          headers=desk.customer)
    assert changed.status_code == 200, changed.text
    old, new = _claims(desk.customer["Authorization"].split()[1]), _claims(changed.json()["access_token"])
    assert (new["sid"], new["auth_time"]) == (old["sid"], old["auth_time"]) and new["ses"] == old["ses"] + 1
    history = client.get(f"/v1/customers/{desk.customer_id}/history", headers=desk.admin).text
    assert "helpdesk.user.password_changed" in history and NEW_PASSWORD not in history
    assert_problem(_login(client, user["login"]), 401, "unauthorized")
    assert_problem(client.post("/v1/auth/refresh", headers=desk.customer), 401, "unauthorized")
    assert client.post("/v1/auth/refresh", headers=bearer(changed.json()["access_token"])).status_code == 200
    assert_problem(client.post("/v1/auth/password", json={"current": PASSWORD, "new": NEW_PASSWORD},
                               headers=desk.admin), 403, "forbidden")  # the static token has no password


def test_refresh_keeps_the_session_until_its_maximum(desk: Desk, client: TestClient) -> None:
    renewed = client.post("/v1/auth/refresh", headers=desk.agent)
    assert renewed.status_code == 200, renewed.text
    before, after = _claims(desk.agent["Authorization"].split()[1]), _claims(renewed.json()["access_token"])
    assert (after["sub"], after["sid"], after["auth_time"]) == (before["sub"], before["sid"], before["auth_time"])
    old_sign_in = int(dt.datetime.now(dt.UTC).timestamp()) - 13 * 3600  # past the 12 h default
    stale = Principal(after["sub"], Role.AGENT, sessions=after["ses"], session_id=after["sid"],
                      signed_in_at=old_sign_in)
    token = TokenIssuer(KeyRing(session_keys_dir())).issue(stale, dt.datetime.now(dt.UTC))
    refused = assert_problem(client.post("/v1/auth/refresh", headers=bearer(token)), 401, "unauthorized")
    assert "maximum" in refused["detail"]
    assert_problem(client.post("/v1/auth/refresh", headers=desk.admin), 401, "unauthorized")


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"language": "de"}, 422, "language"),
    ({"name": ""}, 400, "name"),
    ({"email": "not an address"}, 400, "email"),
    ({"blocked": "yes"}, 400, "blocked"),
    ({"colour": "red"}, 400, "colour"),
])
def test_directory_bad_changes_are_problems_and_write_nothing(desk: Desk, event_count, body: dict, status: int,
                                                             field: str) -> None:
    [user] = _users(desk, desk.customer_id)
    events = event_count()
    problem = assert_problem(desk.client.patch(f"/v1/users/{user['id']}", json=body, headers=desk.admin),
                             status, "validation_failed")
    assert field in str(problem.get("errors", problem["detail"]))
    assert event_count() == events


def test_directory_unknown_users_weak_passwords_and_strangers_are_refused(desk: Desk, event_count) -> None:
    [user] = _users(desk, desk.customer_id)
    events = event_count()
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        assert_problem(desk.client.patch(f"/v1/users/{unknown}", json={"blocked": True}, headers=desk.admin),
                       404, "not_found")
        assert_problem(desk.client.get(f"/v1/customers/{unknown}", headers=desk.admin), 404, "not_found")
    for password in ("short", "x" * 201):
        assert_problem(desk.client.post(f"/v1/users/{user['id']}/password", json={"password": password},
                                        headers=desk.admin), 400, "validation_failed")
    assert_problem(desk.client.patch(f"/v1/users/{user['id']}", json={"blocked": True}, headers=desk.customer),
                   403, "forbidden")
    assert_problem(desk.client.get("/v1/customers?cursor=abc", headers=desk.admin), 422, "validation_failed")
    assert event_count() == events
    own = desk.client.patch(f"/v1/users/{user['id']}", json={"language": "en"}, headers=desk.customer)
    assert own.status_code == 200 and own.json()["language"] == "en"


def test_directory_a_change_that_changes_nothing_records_nothing(desk: Desk, event_count) -> None:
    [user] = _users(desk, desk.customer_id)
    events = event_count()
    for body in ({}, {"reason": "no block given"}, {"active": True, "blocked": False, "name": user["name"]}):
        answer = desk.client.patch(f"/v1/users/{user['id']}", json=body, headers=desk.admin)
        assert answer.status_code == 200 and answer.json()["version"] == user["version"], answer.text
    assert event_count() == events
    assert_problem(desk.client.get("/v1/customers?cursor=" + "9" * 20, headers=desk.admin), 422, "validation_failed")


def test_med4_mail_from_a_blocked_user_is_refused_not_registered(desk: Desk) -> None:
    [user] = _users(desk, desk.customer_id)
    assert desk.client.patch(f"/v1/users/{user['id']}", json={"blocked": True}, headers=desk.admin).status_code == 200
    answer = deliver(desk.client, message(user["email"], "Printer", "Still broken."))
    assert answer.status_code == 201 and (answer.json()["outcome"], answer.json()["reason"]) == (
        "refused", "user_blocked")
