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
authenticator's verified-token cache (``helpdesk_shared.web.token_cache``). Until that replay
has caught up with the stream the service is not ready (``/readyz``: ``revocations``) and
answers a token 503 ``not_ready``: a token revoked before the service started is never
accepted in the meantime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec
from litestar.exceptions import ServiceUnavailableException
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError
from prometheus_client import Counter

from helpdesk_shared import directory_events as directory
from helpdesk_shared.subjects import CUSTOMER_PREFIX, USER_PREFIX
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Authenticator, Principal
from helpdesk_shared.web.problems import RETRY_AFTER_SECONDS

log = logging.getLogger("helpdesk.revocation")
RETRY_SECONDS = 1.0
REPLAY_WAIT_SECONDS = 5.0  # a service starts after this long even if not replayed (then: not ready, 503)
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
        self.replayed = True  # False while a feed replays the directory: no token can be judged yet
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
        """Why the principal's token no longer works, or None while it does; 503 before the replay ends."""
        if not self.replayed:
            raise ServiceUnavailableException("the token revocations are still being replayed; retry shortly",
                                              headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
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
        self._taken: dict[str, tuple[str, int]] = {}  # per subject prefix: (consumer, its sequence) last taken in
        self._progress = asyncio.Event()
        revocations.replayed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._subscribe())

    async def _subscribe(self) -> None:
        for prefix in (USER_PREFIX, CUSTOMER_PREFIX):
            self._subscriptions.append(await self._follow(prefix))
        for prefix, subscription in zip((USER_PREFIX, CUSTOMER_PREFIX), self._subscriptions, strict=True):
            await self._caught_up(prefix, subscription)
        self._revocations.replayed = True
        log.info("revocations: the directory is replayed (%d facts)", self._revocations.applied)

    async def _follow(self, prefix: str) -> object:
        """An ordered consumer of ``prefix.>`` from the stream's start, once the stream and NATS are there."""
        while True:
            try:
                return await self._js.subscribe(f"{prefix}.>", cb=self._taker(prefix), ordered_consumer=True,
                                                deliver_policy=DeliverPolicy.ALL)
            except NotFoundError:  # no stream yet: no fact was ever published, so none revokes a token
                self._revocations.replayed = True
                log.info("revocations: no stream holds %s.> yet; nothing to replay", prefix)
            except Exception as error:  # noqa: BLE001 - NATS away: try again
                log.info("revocations: %s.> not followed yet: %s", prefix, error)
            await asyncio.sleep(RETRY_SECONDS)

    async def replayed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the replay (a start normally takes milliseconds); whether it ended."""
        # the flag, not the task: with no stream yet nothing is to replay, while the task still waits for one
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._revocations.replayed and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        return self._revocations.replayed

    async def _caught_up(self, prefix: str, subscription: object) -> None:
        """Return once every message the stream held for ``prefix`` has been taken in."""
        while True:
            self._progress.clear()
            try:
                info = await subscription.consumer_info()  # type: ignore[attr-defined]
                consumer, taken = self._taken.get(prefix, (info.name, 0))  # an ordered consumer may be renewed
                if info.num_pending == 0 and consumer == info.name and taken >= info.delivered.consumer_seq:
                    return
            except Exception as error:  # noqa: BLE001 - NATS away for a moment: ask again
                log.info("revocations: %s.> replay not confirmed yet: %s", prefix, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), RETRY_SECONDS)

    def _taker(self, prefix: str) -> Callable[[object], Awaitable[None]]:
        async def take(message: object) -> None:
            await self._take(message)
            metadata = message.metadata  # type: ignore[attr-defined]
            self._taken[prefix] = (metadata.consumer, metadata.sequence.consumer)
            self._progress.set()
        return take

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


def revocations_replayed(authenticator: Authenticator) -> Callable[[], Awaitable[bool]]:
    """The ``/readyz`` check: the directory's revocations are followed and replayed up to the stream's end."""
    async def replayed() -> bool:
        revocations = authenticator.revocations
        return isinstance(revocations, Revocations) and revocations.replayed
    return replayed


@asynccontextmanager
async def following_revocations(js: JetStreamContext, authenticator: Authenticator) -> AsyncIterator[Revocations]:
    """Keep the authenticator's revocations current for the duration (a service's lifespan)."""
    if not isinstance(authenticator.revocations, Revocations):
        authenticator.watch(Revocations())
    feed = RevocationFeed(js, authenticator.revocations)
    feed.start()
    await feed.replayed(REPLAY_WAIT_SECONDS)
    try:
        yield authenticator.revocations
    finally:
        await feed.stop()
