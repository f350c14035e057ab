"""Issue #15 items 3 and 11 against query as a real process: ids and filters are checked once at the
edge (a malformed path id is 404, a malformed filter 422 naming it — never a 500, never a NATS subject),
and every answer carries the security headers of an API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpdesk_shared.vocabulary import Role

from tests.query.handmade import start_query, token
from tests.support.processes import ADMIN_TOKEN

pytestmark = [pytest.mark.e2e]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PROBLEM = "application/problem+json"
TICKET = "0b5c1d7e-3f8a-4c2b-9d6e-1a2b3c4d5e6f"


@pytest.fixture
def query(services: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=start_query(services).url, timeout=10) as client:
        yield client


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize("path", [
    "/v1/tickets/x%00y", "/v1/tickets/%0C/history", "/v1/tickets/%0C", "/v1/tickets/x%00y/history",
    "/v1/tickets/a.b/history", "/v1/tickets/a%20b", f"/v1/tickets/{TICKET}/attachments/%00",
    f"/v1/tickets/{TICKET}/attachments/not-a-sha256", "/v1/tickets/%ED%A0%80/history",
])
def test_hardening_query_malformed_path_ids_are_404_not_500(query: httpx.Client, path: str) -> None:
    _problem(query.get(path, headers=ADMIN), 404, "not_found")


@pytest.mark.parametrize(("params", "field"), [
    ("q=%00", "q"), ("q=a%0Cb", "q"), ("customer_id=%00", "customer_id"), ("assignee_id=x%00", "assignee_id"),
    ("customer_id=not%20an%20id", "customer_id"), ("customer_id=a.b", "customer_id"),
    ("as_of=%00", "as_of"), ("cursor=%1B", "cursor"), ("status=new%00", "status"),
])
def test_hardening_query_malformed_filters_are_422_naming_the_parameter(query: httpx.Client, params: str,
                                                                        field: str) -> None:
    body = _problem(query.get(f"/v1/tickets?{params}", headers=ADMIN), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]


def test_hardening_query_well_formed_ids_and_filters_still_answer(query: httpx.Client) -> None:
    assert query.get(f"/v1/tickets?customer_id={TICKET}&q=printer%09A", headers=ADMIN).json()["items"] == []
    _problem(query.get(f"/v1/tickets/{TICKET}", headers=ADMIN), 404, "not_found")
    _problem(query.get(f"/v1/tickets/{TICKET}/history", headers=ADMIN), 404, "not_found")


def test_hardening_security_headers_on_every_answer(query: httpx.Client) -> None:
    ok = query.get("/v1/tickets", headers=token("u1", Role.AGENT))
    assert ok.status_code == 200
    assert (ok.headers["x-content-type-options"], ok.headers["cache-control"]) == ("nosniff", "no-store")
    refused = query.get("/v1/tickets/x%00y", headers=ADMIN)
    assert (refused.headers["x-content-type-options"], refused.headers["cache-control"]) == ("nosniff", "no-store")
    anonymous = query.get("/healthz")
    assert anonymous.headers["x-content-type-options"] == "nosniff" and "cache-control" not in anonymous.headers
    assert query.get("/no/such/route").headers["x-content-type-options"] == "nosniff"
    missing = query.get("/v1/tickets")
    _problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == 'Bearer realm="helpdesk"'
    forged = query.get("/v1/tickets", headers={"Authorization": "Bearer not.a.token"})
    _problem(forged, 401, "unauthorized")
    assert forged.headers["www-authenticate"] == 'Bearer realm="helpdesk", error="invalid_token"'
