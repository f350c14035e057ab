"""Issue #14 item 5 end to end: tokens signed by intake's Ed25519 key, verified everywhere with its JWK set.

intake, query, sla and notify run as real processes. Only intake holds a private key; the
others fetch ``GET /v1/auth/jwks``, so a key rotation in intake's key directory reaches them
without a restart of any process.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from helpdesk_devstack import free_port
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.keys import generate_key

from tests.support.desk import PASSWORD, bearer
from tests.support.processes import ADMIN_TOKEN
from tests.support.tokens import signed_token
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
PARKED = "/v1/admin/parked"  # every consumer service answers it, to an admin only


def admin_login(intake: httpx.Client, admin_token: str = ADMIN_TOKEN) -> tuple[str, str]:
    """A new admin staff member's login, and the token intake issues it."""
    login = f"root-{uuid.uuid4().hex[:8]}"
    created = intake.post("/v1/staff", headers=bearer(admin_token), json={
        "name": "Root", "email": f"{login}@desk.test", "login": login, "password": PASSWORD, "role": "admin"})
    assert created.status_code == 201, created.text
    return login, token_of(intake, login)


def token_of(intake: httpx.Client, login: str) -> str:
    answer = intake.post("/v1/auth/token", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def signed_by(token: str, kid: str) -> str | None:
    """The token if its header names ``kid``."""
    return token if jwt.get_unverified_header(token)["kid"] == kid else None


def status(url: str, token: str) -> int:
    return httpx.get(url + PARKED, headers=bearer(token), timeout=10).status_code


def register_customer(url: str, token: str) -> httpx.Response:
    """An admin's command on intake, which verifies with its own keys."""
    return httpx.post(url + "/v1/customers", headers=bearer(token), timeout=10,
                      json={"name": "Acme", "email": "it@acme.test", "policy": "keysystems"})


def test_platform_keys_every_service_verifies_intakes_eddsa_token_and_refuses_any_other(
        services: Any, tmp_path: Path) -> None:
    intake = services.start("intake", "serve")
    others = [services.start(name, "serve") for name in ("query", "sla", "notify")]
    with httpx.Client(base_url=intake.url, timeout=10) as client:
        _, token = admin_login(client)
        jwks = client.get("/v1/auth/jwks")
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("EdDSA", "test-session")
    [key] = jwks.json()["keys"]
    assert key == {**key, "kty": "OKP", "crv": "Ed25519", "kid": "test-session", "use": "sig", "alg": "EdDSA"}
    assert "d" not in key and set(key) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert jwks.headers["cache-control"] == "public, max-age=30"

    generate_key(tmp_path / "elsewhere", "test-session")  # the same kid, a key intake never held
    foreign = signed_token("root", Role.ADMIN, keys_dir=tmp_path / "elsewhere")
    claims = jwt.decode(token, options={"verify_signature": False})
    hs256 = jwt.encode(claims, "the-old-shared-secret-" * 2, algorithm="HS256", headers={"kid": "test-session"})
    for service in others:
        assert status(service.url, token) == 200, service.label
        for refused in (foreign, hs256):
            answer = httpx.get(service.url + PARKED, headers=bearer(refused), timeout=10)
            assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized"), service.label
    assert register_customer(intake.url, token).status_code == 201
    assert [register_customer(intake.url, refused).status_code for refused in (foreign, hs256)] == [401, 401]


def test_platform_keys_rotation_reaches_query_without_a_restart_and_settings_come_from_files(
        services: Any, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_key(keys, "2026-01")
    (tmp_path / "admin-token").write_text("admin-from-a-file\n")
    (tmp_path / "database-url").write_text(services.env.pop("HELPDESK_DATABASE_URL") + "\n")
    services.env.pop("HELPDESK_ADMIN_TOKEN")
    services.env.update(HELPDESK_ADMIN_TOKEN_FILE=str(tmp_path / "admin-token"),
                        HELPDESK_DATABASE_URL_FILE=str(tmp_path / "database-url"),
                        HELPDESK_JWT_KEYS_DIR=str(keys), HELPDESK_JWKS_REFRESH_SECONDS="1")
    intake = services.start("intake", "serve")
    query = services.start("query", "serve")
    with httpx.Client(base_url=intake.url, timeout=10) as client:
        login, old = admin_login(client, admin_token="admin-from-a-file")
        assert status(query.url, old) == 200

        (keys / "active").write_text("2026-01\n")  # 1. add the next key, still signing with the current one
        generate_key(keys, "2026-02")
        wait_until(lambda: len(client.get("/v1/auth/jwks").json()["keys"]) == 2)
        assert jwt.get_unverified_header(token_of(client, login))["kid"] == "2026-01"

        (keys / "active").write_text("2026-02\n")  # 2. once verifiers have it, sign with it
        new = wait_until(lambda: signed_by(token_of(client, login), "2026-02"), interval=0.2)  # logins are rated
        assert (status(query.url, old), status(query.url, new)) == (200, 200)

        (keys / "2026-01.pem").unlink()  # 3. after the longest token lifetime, retire the old key
        removed = time.monotonic()
        wait_until(lambda: status(query.url, old) == 401, timeout=10)
        assert time.monotonic() - removed < 8  # intake rescans each second, query refreshes each second
        assert status(query.url, new) == 200
    assert query.running() and intake.running() and len(services.started) == 2  # no process restarted


def test_platform_keys_a_service_started_before_intake_answers_503_until_it_can_fetch_the_keys(
        services: Any) -> None:
    port = free_port()
    services.env["HELPDESK_INTAKE_URL"] = f"http://127.0.0.1:{port}"
    query = services.start("query", "serve")
    token = signed_token("root", Role.ADMIN)
    refused = httpx.get(query.url + PARKED, headers=bearer(token), timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (503, "not_ready")
    services.start("intake", "serve", port=port)
    wait_until(lambda: status(query.url, token) == 200, interval=0.2)
