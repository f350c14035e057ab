"""Verified token claims are cached until expiry and cleared by the directory's facts (issue 16)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from helpdesk_shared import directory_events as directory
from helpdesk_shared.events import Actor
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Authenticator, Principal, TokenIssuer
from helpdesk_shared.web.keys import KeyRing, generate_key
from helpdesk_shared.web.problems import Problem
from helpdesk_shared.web.revocation import Revocations
from helpdesk_shared.web.token_cache import Verified, VerifiedTokens
from tests.support.tokens import session_keys_dir

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
COMMON = {"version": 2, "actor": Actor("admin", Role.ADMIN), "occurred_at": AT}
ANN = Principal("u-ann", Role.CUSTOMER, customer_id="c-acme", sessions=0, session_id="s1")


def verify(authenticator: Authenticator, token: str) -> Principal:
    return asyncio.run(authenticator.verify(f"Bearer {token}"))


def test_perf_token_claims_are_verified_once_and_kept_until_expiry() -> None:
    now = [1000.0]
    tokens = VerifiedTokens(clock=lambda: now[0])
    ring = KeyRing(session_keys_dir())
    authenticator = Authenticator(ring, tokens=tokens)
    token = TokenIssuer(ring).issue(ANN, dt.datetime.now(dt.UTC))
    assert verify(authenticator, token).session_id == "s1" and len(tokens) == 1
    assert verify(authenticator, token).session_id == "s1" and len(tokens) == 1
    cached = tokens.get(token)
    assert cached is not None and cached.principal.id == "u-ann"
    now[0] = cached.expires
    assert tokens.get(token) is None and len(tokens) == 0  # expired: forgotten, verified again next time


def test_perf_token_cache_is_cleared_by_every_directory_fact_and_revocation_still_answers_401() -> None:
    ring = KeyRing(session_keys_dir())
    revocations = Revocations()
    authenticator = Authenticator(ring, revocations=revocations)
    token = TokenIssuer(ring).issue(ANN, dt.datetime.now(dt.UTC))
    assert verify(authenticator, token).session_id == "s1" and len(authenticator.tokens) == 1
    revocations.apply(directory.UserBlocked(**COMMON, user_id="u-ann", sessions=1))
    assert len(authenticator.tokens) == 0
    with pytest.raises(Problem) as refused:
        verify(authenticator, token)
    assert refused.value.status == 401 and "blocked" in refused.value.detail


def test_perf_a_cached_token_stops_verifying_once_its_key_is_removed(tmp_path: Path) -> None:
    generate_key(tmp_path, "a-old")
    ring = KeyRing(tmp_path)
    authenticator = Authenticator(ring)
    token = TokenIssuer(ring).issue(ANN, dt.datetime.now(dt.UTC))
    assert verify(authenticator, token).session_id == "s1"
    generate_key(tmp_path, "b-new")
    (tmp_path / "a-old.pem").unlink()
    ring._scanned = float("-inf")  # look at the directory now rather than within the second
    with pytest.raises(Problem) as refused:
        verify(authenticator, token)
    assert refused.value.status == 401


def test_perf_token_cache_keeps_at_most_its_bound_dropping_the_oldest() -> None:
    tokens = VerifiedTokens(max_entries=2, clock=lambda: 0.0)
    for name in ("a", "b", "c"):
        tokens.put(name, Verified(ANN, "kid", None, 10.0))
    assert len(tokens) == 2 and tokens.get("a") is None and tokens.get("c") is not None
