"""Issue #15 item 11 on intake: the security headers of an API on answers, errors and refusals alike."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.support.desk import KS7, Desk

REALM = 'Bearer realm="helpdesk"'


def test_hardening_headers_nosniff_everywhere_and_no_store_on_authenticated_answers(desk: Desk) -> None:
    opened = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.customer)
    refused = desk.client.post("/v1/tickets", json={"subject": "s\x00", "description": "d"}, headers=desk.customer)
    for response in (opened, refused):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    for anonymous in (desk.client.get("/healthz"), desk.client.get("/schema/openapi.json"),
                      desk.client.get("/nowhere")):
        assert anonymous.headers["x-content-type-options"] == "nosniff"
        assert "cache-control" not in anonymous.headers


def test_hardening_headers_www_authenticate_on_every_401(desk: Desk) -> None:
    body = {"subject": "s", "description": "d", "details": KS7}
    assert desk.client.post("/v1/tickets", json=body).headers["www-authenticate"] == REALM
    basic = desk.client.post("/v1/tickets", json=body, headers={"Authorization": "Basic YTpi"})
    assert basic.headers["www-authenticate"] == REALM
    forged = desk.client.post("/v1/tickets", json=body, headers={"Authorization": "Bearer forged.token.here"})
    assert (forged.status_code, forged.headers["www-authenticate"]) == (401, f'{REALM}, error="invalid_token"')
    wrong_password = desk.client.post("/v1/auth/token", json={"login": "nobody", "password": "wrong password"})
    assert (wrong_password.status_code, wrong_password.headers["www-authenticate"]) == (401, REALM)


def test_hardening_headers_are_in_the_openapi_document(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    created = schema["paths"]["/v1/tickets"]["post"]["responses"]["201"]
    assert {"X-Content-Type-Options", "Cache-Control"} <= created["headers"].keys()
    assert "WWW-Authenticate" in schema["components"]["securitySchemes"]["bearer"]["description"]
