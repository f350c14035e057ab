"""Issue #14 item 5: the key directory intake signs with, and verification against it, in-process."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import jwt
import pytest

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web import keys as keys_module
from helpdesk_shared.web.auth import Authenticator, Principal, TokenIssuer
from helpdesk_shared.web.keys import KeyDirectoryError, KeyRing, generate_key, read_key_set
from helpdesk_shared.web.problems import Problem

NOW = dt.datetime.now(dt.UTC)
AGENT = Principal("u1", Role.AGENT)


def who(principal: Principal) -> tuple[str, Role, str | None]:
    """Whom a verified token names (its session claims aside)."""
    return principal.id, principal.role, principal.customer_id


def verify(ring: KeyRing, token: str) -> Principal:
    return asyncio.run(Authenticator(ring, admin_token="adm", service_token="svc").verify(f"Bearer {token}"))


def test_platform_keys_the_last_key_by_name_signs_unless_the_active_file_names_one(tmp_path: Path) -> None:
    generate_key(tmp_path, "2026-01")
    generate_key(tmp_path, "2026-02")
    assert read_key_set(tmp_path).active_kid == "2026-02"
    (tmp_path / "active").write_text("2026-01\n")
    assert read_key_set(tmp_path).active_kid == "2026-01"
    (tmp_path / "active").write_text("2025-12")
    with pytest.raises(KeyDirectoryError, match="not a key in the directory"):
        read_key_set(tmp_path)


def test_platform_keys_a_directory_without_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyDirectoryError, match="no \\*.pem signing key"):
        read_key_set(tmp_path)


def test_platform_keys_the_jwk_set_holds_public_keys_only(tmp_path: Path) -> None:
    generate_key(tmp_path, "k1")
    [jwk] = read_key_set(tmp_path).jwks()["keys"]
    assert jwk.keys() == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (jwk["kty"], jwk["crv"], jwk["kid"], jwk["use"], jwk["alg"]) == ("OKP", "Ed25519", "k1", "sig", "EdDSA")


def test_platform_keys_a_token_names_its_key_and_verifies_with_it(tmp_path: Path) -> None:
    generate_key(tmp_path, "k1")
    ring = KeyRing(tmp_path)
    token = TokenIssuer(ring).issue(AGENT, NOW)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": "k1", "typ": "JWT"}
    assert who(verify(ring, token)) == who(AGENT)
    assert verify(ring, "svc") == Principal("service:sla", Role.SERVICE)


def test_platform_keys_hs256_foreign_and_kidless_tokens_are_refused(tmp_path: Path) -> None:
    generate_key(tmp_path / "ours", "k1")
    generate_key(tmp_path / "theirs", "k1")  # the same kid, another key
    ring = KeyRing(tmp_path / "ours")
    claims = {"iss": "helpdesk", "sub": "x", "role": "admin", "exp": int(NOW.timestamp()) + 60}
    foreign = TokenIssuer(KeyRing(tmp_path / "theirs")).issue(AGENT, NOW)
    hs256 = jwt.encode(claims, "a-shared-secret-" * 3, algorithm="HS256", headers={"kid": "k1"})
    kidless = jwt.encode(claims, read_key_set(tmp_path / "ours").signer, algorithm="EdDSA")
    for token in (foreign, hs256, kidless):
        with pytest.raises(Problem) as refused:
            verify(ring, token)
        assert refused.value.status == 401


def test_platform_keys_the_ring_follows_the_directory_and_survives_a_broken_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "RESCAN_SECONDS", 0.0)
    generate_key(tmp_path, "k1")
    ring = KeyRing(tmp_path)
    old = TokenIssuer(ring).issue(AGENT, NOW)
    generate_key(tmp_path, "k2")
    new = TokenIssuer(ring).issue(AGENT, NOW)
    assert jwt.get_unverified_header(new)["kid"] == "k2"
    assert who(verify(ring, old)) == who(verify(ring, new)) == who(AGENT)
    (tmp_path / "k3.pem").write_text("-----BEGIN PRIVATE KEY-----\nhalf a fi")  # a copy in progress
    assert ring.current().active_kid == "k2"
    (tmp_path / "k3.pem").unlink()
    os.remove(tmp_path / "k1.pem")
    with pytest.raises(Problem):
        verify(ring, old)
    assert who(verify(ring, new)) == who(AGENT)
