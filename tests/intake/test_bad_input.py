"""Bad input gets a clear problem document: never a 500, never a partial write (CONTRACT §7)."""

from __future__ import annotations

import json
import random

import pytest

from tests.support.desk import KS7, Desk

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert (body["status"], body["code"]) == (status, code)
    return body


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"subject": "s", "description": ', None),                        # malformed JSON
    (b'[1, 2, 3]', None),                                              # not an object
    (b'{"subject": 42, "description": "d"}', "subject"),               # wrong type
    (b'{"description": "d"}', "subject"),                              # missing subject (MED-11)
    (b'{"subject": "", "description": "d"}', "subject"),               # empty subject
    (b'{"subject": "s", "description": "d", "color": "red"}', "color"),  # unknown field
    (b'{"subject": "s", "description": "d", "priority": "asap"}', "priority"),  # out of the enum
    (b'\xff\xfe not even utf-8', None),
])
def test_malformed_bodies_are_400_validation_failed(desk: Desk, event_count, raw: bytes, field: str | None) -> None:
    events = event_count()
    response = desk.client.post("/v1/tickets", content=raw,
                                headers={**desk.customer, "Content-Type": "application/json"})
    body = assert_problem(response, 400, "validation_failed")
    if field:
        assert field in json.dumps(body["errors"])
    assert event_count() == events


def test_oversized_body_is_413(desk: Desk, event_count) -> None:
    events = event_count()
    huge = {"subject": "s", "description": "x" * 2_000_000}
    assert_problem(desk.client.post("/v1/tickets", json=huge, headers=desk.customer), 413, "payload_too_large")
    assert event_count() == events


def test_unknown_ticket_is_404(desk: Desk) -> None:
    for ticket_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", desk.customer_id):
        assert_problem(desk.act(ticket_id, "accept"), 404, "not_found")


def test_invalid_transitions_are_409(desk: Desk, event_count) -> None:
    ticket = desk.open()
    events = event_count()
    assert_problem(desk.act(ticket["id"], "mark_ready_to_install"), 409, "invalid_transition")
    assert_problem(desk.act(ticket["id"], "levitate"), 409, "invalid_transition")
    assert event_count() == events


def test_reopen_outside_window_is_409_reopen_window_closed(desk: Desk) -> None:
    # medis has no reopen window: a done ticket never returns to work.
    customer = desk.client.post("/v1/customers", headers=desk.admin,
                                json={"name": "m", "email": "m@m.test", "policy": "medis"}).json()["id"]
    requester = desk.client.post(f"/v1/customers/{customer}/users", headers=desk.admin, json={
        "name": "m", "email": "u@m.test", "login": "m-reopen", "password": "correct horse battery"}).json()["id"]
    ticket = desk.open(headers=desk.agent, customer_id=customer, requester_id=requester, details={})
    desk.act(ticket["id"], "accept")
    desk.act(ticket["id"], "propose_solution")
    assert desk.act(ticket["id"], "accept_solution", headers=desk.admin).status_code == 200
    assert_problem(desk.act(ticket["id"], "return_to_work", headers=desk.admin), 409, "reopen_window_closed")


def test_bad_headers_are_400(desk: Desk) -> None:
    ticket = desk.open()
    assert_problem(desk.client.post(f"/v1/tickets/{ticket['id']}/actions/accept", json={},
                                    headers={**desk.agent, "If-Match": "yesterday"}), 400, "validation_failed")
    assert_problem(desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7},
                                    headers={**desk.customer, "Idempotency-Key": "k" * 300}),
                   400, "validation_failed")


def test_unauthenticated_is_401(desk: Desk) -> None:
    assert_problem(desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}),
                   401, "unauthorized")


def test_fuzzed_requests_never_produce_a_500_or_a_write(desk: Desk, event_count) -> None:
    """Hundreds of hostile requests: random bytes, deep nesting, wrong types, odd paths."""
    ticket = desk.open()
    events = event_count()
    rng = random.Random(20261122)
    paths = ["/v1/tickets", f"/v1/tickets/{ticket['id']}/comments", f"/v1/tickets/{ticket['id']}/time-entries",
             f"/v1/tickets/{ticket['id']}/actions/reject", "/v1/customers", "/v1/auth/token"]
    junk = [b"", b"null", b"{}", b"[]", b'"str"', b"1e999", b"{" * 5000, b'{"body": null}',
            b'{"minutes": -5}', b'{"minutes": 1e30}', b'{"reason": ""}', b'{"body": ""}',
            b'{"login": {"$ne": 1}, "password": []}', b"\x00\x01\x02", "{\"body\": \"\ud800\"}".encode("utf-8", "surrogatepass")]
    for _ in range(300):
        payload = rng.choice(junk) if rng.random() < 0.6 else rng.randbytes(rng.randint(1, 200))
        response = desk.client.post(rng.choice(paths), content=payload,
                                    headers={**desk.agent, "Content-Type": "application/json"})
        assert response.status_code < 500, (payload, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), (payload, response.text)
    assert event_count() == events
