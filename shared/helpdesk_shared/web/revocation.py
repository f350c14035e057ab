"""Token revocation on every service, learnt from the directory's facts (CONTRACT §2, MED-4, IMC-2).

A JWT stays valid until it expires; blocking or deactivating a user, a new password,
or a customer's contract ending must end it sooner. Intake records each as a fact on
``helpdesk.user.<id>.<event>`` / ``helpdesk.customer.<id>.<event>``; every service
follows those subjects with an ordered (ephemeral) consumer from the stream's start and
keeps, in memory, per user the lowest ``sessions`` counter still valid and whether the
user is blocked or deactivated, and the customers without an active contract. A token
issued under a lower counter, or for such a user or customer, answers 401. The state is
a few dicts of the directory's size, rebuilt on start by replaying the directory
subjects (a few messages per user), and a check is two dict lookups — cheap enough to
run after a cached signature check too: it does, and every fact also clears the
authenticator's verified-token cache (``helpdesk_shared.web.token_cache``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from prometheus_client import Counter

from helpdesk_shared import directory_events as directory
from helpdesk_shared.subjects import CUSTOMER_PREFIX, USER_PREFIX
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Authenticator, Principal

log = logging.getLogger("helpdesk.revocation")
RETRY_SECONDS = 1.0
FACTS = Counter("helpdesk_revocation_facts_total", "Directory facts taken into the token revocation state")
REFUSED = Counter("helpdesk_revoked_tokens_total", "Tokens refused because the directory revoked them")


@dataclass
class UserSessions:
    valid_from: int = 0  # tokens issued under a lower ``sessions`` counter are revoked
    blocked: bool = False
    deactivated: bool = False


class Revocations:
    """What the directory's facts revoke: ``revoked(principal)`` names why, or is None."""

    def __init__(self) -> None:
        self.users: dict[str, UserSessions] = {}
        self.inactive_customers: set[str] = set()
        self.applied = 0  # facts taken in, for tests and metrics
        self.listeners: list[Callable[[], None]] = []  # told of every fact: the verified-token caches

    def apply(self, fact: directory.DirectoryFact) -> None:
        """Take in one directory fact (an old or repeated one changes nothing that matters)."""
        self.applied += 1
        for listener in self.listeners:
            listener()
        match fact:
            case directory.CustomerRegistered() | directory.CustomerContractChanged():
                (self.inactive_customers.discard if fact.active else self.inactive_customers.add)(fact.customer_id)
            case directory.UserFact():
                self._apply_user(fact, self.users.setdefault(fact.user_id, UserSessions()))

    def _apply_user(self, fact: directory.UserFact, user: UserSessions) -> None:
        if isinstance(fact, directory.SessionsEnded):
            user.valid_from = max(user.valid_from, fact.sessions)
        match fact:
            case directory.UserBlocked():
                user.blocked = True
            case directory.UserUnblocked():
                user.blocked = False
            case directory.UserDeactivated():
                user.deactivated = True
            case directory.UserReactivated():
                user.deactivated = False

    def revoked(self, principal: Principal) -> str | None:
        """Why the principal's token no longer works, or None while it does."""
        reason = self._reason(principal)
        if reason is not None:
            REFUSED.inc()
        return reason

    def _reason(self, principal: Principal) -> str | None:
        if principal.role is Role.CUSTOMER and principal.customer_id in self.inactive_customers:
            return "the customer has no active contract"
        user = self.users.get(principal.id)
        if user is None:
            return None
        if user.deactivated:
            return "the user is deactivated"
        if user.blocked:
            return "the user is blocked"
        if principal.sessions < user.valid_from:
            return "signed out by a password change or a block"
        return None


class RevocationFeed:
    """Follows the directory subjects into ``revocations`` until stopped; waits for a missing stream."""

    def __init__(self, js: JetStreamContext, revocations: Revocations) -> None:
        self._js = js
        self._revocations = revocations
        self._subscriptions: list[object] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._subscribe())

    async def _subscribe(self) -> None:
        for prefix in (USER_PREFIX, CUSTOMER_PREFIX):
            while True:
                try:
                    self._subscriptions.append(await self._js.subscribe(
                        f"{prefix}.>", cb=self._take, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL))
                    break
                except Exception as error:  # noqa: BLE001 - no stream yet, or NATS away: try again
                    log.info("revocations: %s.> not followed yet: %s", prefix, error)
                    await asyncio.sleep(RETRY_SECONDS)

    async def _take(self, message: object) -> None:
        try:
            envelope = directory.decode(message.data)  # type: ignore[attr-defined]
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            log.warning("revocations: a directory message not understood, skipped: %s", error)
            return
        self._revocations.apply(envelope.data)  # type: ignore[attr-defined]
        FACTS.inc()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the connection may be closing already
                pass


@asynccontextmanager
async def following_revocations(js: JetStreamContext, authenticator: Authenticator) -> AsyncIterator[Revocations]:
    """Keep the authenticator's revocations current for the duration (a service's lifespan)."""
    if not isinstance(authenticator.revocations, Revocations):
        authenticator.watch(Revocations())
    feed = RevocationFeed(js, authenticator.revocations)
    feed.start()
    try:
        yield authenticator.revocations
    finally:
        await feed.stop()
