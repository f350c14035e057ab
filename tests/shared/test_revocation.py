"""What the directory's facts revoke (helpdesk_shared.web.revocation): the state every service keeps."""

from __future__ import annotations

import asyncio
import datetime as dt

import msgspec
import nats
import pytest
from litestar.exceptions import ServiceUnavailableException

from helpdesk_shared import directory_events as directory
from helpdesk_shared import subjects
from helpdesk_shared.stream import ensure_stream
from helpdesk_shared.events import Actor
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import ADMIN, Authenticator, Principal, TokenIssuer
from helpdesk_shared.web.keys import KeyRing
from helpdesk_shared.web.problems import Problem
from helpdesk_shared.web.revocation import RevocationFeed, Revocations, revocations_replayed
from tests.support.tokens import session_keys_dir

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
COMMON = {"version": 2, "actor": Actor("admin", Role.ADMIN), "occurred_at": AT}
ANN = Principal("u-ann", Role.CUSTOMER, customer_id="c-acme", sessions=0, session_id="s1")


def test_med4_a_blocked_user_is_revoked_and_unblocking_revives_no_older_session() -> None:
    revocations = Revocations()
    assert revocations.revoked(ANN) is None
    revocations.apply(directory.UserBlocked(**COMMON, user_id="u-ann", sessions=1))
    assert revocations.revoked(ANN) == "the user is blocked"
    revocations.apply(directory.UserUnblocked(**COMMON, user_id="u-ann"))
    assert revocations.revoked(ANN) == "signed out by a password change or a block"
    assert revocations.revoked(Principal("u-ann", Role.CUSTOMER, customer_id="c-acme", sessions=1)) is None


def test_imc2_a_deactivated_user_and_a_customer_without_contract_are_revoked() -> None:
    revocations = Revocations()
    revocations.apply(directory.UserDeactivated(**COMMON, user_id="u-bob", sessions=1))
    assert revocations.revoked(Principal("u-bob", Role.AGENT, sessions=1)) == "the user is deactivated"
    revocations.apply(directory.CustomerContractChanged(**COMMON, customer_id="c-acme", active=False))
    assert revocations.revoked(ANN) == "the customer has no active contract"
    revocations.apply(directory.CustomerContractChanged(**COMMON, customer_id="c-acme", active=True))
    assert revocations.revoked(ANN) is None and revocations.revoked(ADMIN) is None


def test_a_password_change_revokes_the_older_sessions_even_when_facts_come_again() -> None:
    revocations = Revocations()
    later = directory.UserPasswordChanged(**COMMON, user_id="u-ann", sessions=2)
    for fact in (later, directory.UserPasswordReset(**COMMON, user_id="u-ann", sessions=1), later):
        revocations.apply(fact)
    assert revocations.revoked(Principal("u-ann", Role.CUSTOMER, sessions=1)) is not None
    assert revocations.revoked(Principal("u-ann", Role.CUSTOMER, sessions=2)) is None


def test_the_authenticator_answers_a_revoked_token_401() -> None:
    ring = KeyRing(session_keys_dir())
    revocations = Revocations()
    authenticator = Authenticator(ring, revocations=revocations)
    token = TokenIssuer(ring).issue(ANN, dt.datetime.now(dt.UTC))
    assert asyncio.run(authenticator.verify(f"Bearer {token}")).session_id == "s1"
    revocations.apply(directory.UserBlocked(**COMMON, user_id="u-ann", sessions=1))
    with pytest.raises(Problem) as refused:
        asyncio.run(authenticator.verify(f"Bearer {token}"))
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")


async def test_hardening_revocation_replay_a_token_revoked_before_start_is_never_accepted_and_not_ready_until_replayed(
        nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        for i in range(200):  # other users' facts before the one that matters
            await _publish(js, directory.UserPasswordChanged(**COMMON, user_id=f"u-{i}", sessions=1), i)
        await _publish(js, directory.UserBlocked(**COMMON, user_id="u-ann", sessions=1), 200)
        authenticator = Authenticator(KeyRing(session_keys_dir()), revocations=Revocations())
        ready = revocations_replayed(authenticator)
        feed = RevocationFeed(js, authenticator.revocations)
        feed.start()
        assert not await ready()
        with pytest.raises(ServiceUnavailableException) as early:  # 503 not_ready, never "accepted"
            authenticator.revocations.revoked(ANN)
        assert early.value.headers["Retry-After"]
        assert await feed.replayed(10) and await ready()
        assert authenticator.revocations.revoked(ANN) == "the user is blocked"
        await feed.stop()
    finally:
        await nc.close()


async def test_hardening_revocation_replay_with_no_stream_yet_is_ready_at_once(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        authenticator = Authenticator(KeyRing(session_keys_dir()), revocations=Revocations())
        feed = RevocationFeed(nc.jetstream(), authenticator.revocations)
        feed.start()
        assert await feed.replayed(5) and authenticator.revocations.revoked(ANN) is None
        await feed.stop()
    finally:
        await nc.close()


async def _publish(js: object, fact: directory.DirectoryFact, position: int) -> None:
    event = directory.wrap(fact, event_id=f"{directory.subject_id(fact)}.{position}", sequence=position)
    subject = subjects.subject(subjects.USER_PREFIX, fact.user_id, directory.event_type(fact))  # type: ignore[attr-defined]
    await js.publish(subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": event.id})  # type: ignore[attr-defined]
