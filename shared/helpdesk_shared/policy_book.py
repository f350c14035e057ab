"""The policies in force, as every service follows them from the published versions (CONTRACT §5).

Intake publishes each version of a policy on ``helpdesk.policy.<id>.published``. Every
service keeps a ``PolicyBook``: a dict of policies by id, seeded with the presets (and
the service's own ``HELPDESK_POLICY_DIR``, when it has one) until the first published
version arrives, then updated in place by a ``PolicyFeed`` — an ordered (ephemeral)
consumer from the stream's start, as the token revocations follow the directory
(``web/revocation.py``). Whoever holds the book sees a new version within seconds,
without a restart; listeners hear of each change (the SLA service re-plans open tickets).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import APIError, NotFoundError
from prometheus_client import Counter

from helpdesk_shared import policy_events
from helpdesk_shared.policies import Policy, PolicyError, load_directory, load_policy
from helpdesk_shared.policies.loader import PRESETS_DIR, parse_policy
from helpdesk_shared.subjects import ALL_POLICY_EVENTS, STREAM

log = logging.getLogger("helpdesk.policies")
RETRY_SECONDS = 1.0
CATCH_UP_SECONDS = 10.0
TAKEN = Counter("helpdesk_policy_versions_taken_total", "Published policy versions taken into the policy book")


def local_policies(policy_dir: str | Path | None) -> dict[str, Policy]:
    """The presets and the good files of ``policy_dir``: the book's fallback (a bad file is logged, skipped)."""
    policies = load_directory(PRESETS_DIR)
    for path in sorted(Path(policy_dir).glob("*.toml")) if policy_dir else ():
        try:
            policy = load_policy(path)
        except PolicyError as error:
            log.warning("policy file refused: %s", error)
            continue
        policies[policy.id] = policy
    return policies


class PolicyBook(dict[str, Policy]):
    """The policies in force by id; ``take`` a published version, ``on_change`` to hear of one."""

    def __init__(self, fallback: dict[str, Policy]) -> None:
        super().__init__(fallback)
        self.versions: dict[str, int] = {}  # the published version each policy is at
        self.caught_up = asyncio.Event()
        self._listeners: list[Callable[[str], None]] = []

    @classmethod
    def local(cls, policy_dir: str | Path | None = None) -> PolicyBook:
        return cls(local_policies(policy_dir))

    def on_change(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def take(self, fact: policy_events.PolicyPublished) -> bool:
        """Put a published version in force; an older or repeated one, or an unreadable one, changes nothing."""
        if fact.version <= self.versions.get(fact.policy_id, 0):
            return False
        try:
            policy = parse_policy(fact.text, f"policy {fact.policy_id} version {fact.version}")
        except PolicyError as error:
            log.error("published policy not understood, the one in force stays: %s", error)
            return False
        self[policy.id] = policy
        self.versions[fact.policy_id] = fact.version
        TAKEN.inc()
        for listener in self._listeners:
            listener(policy.id)
        return True


class PolicyFeed:
    """Follows ``helpdesk.policy.>`` into a book until stopped; waits for a missing stream."""

    def __init__(self, js: JetStreamContext, book: PolicyBook) -> None:
        self._js, self._book = js, book
        self._subscription: object | None = None
        self._task: asyncio.Task[None] | None = None
        self._last = 0  # the stream sequence of the newest version published before the feed began

    def start(self) -> None:
        self._task = asyncio.create_task(self._subscribe())

    async def _subscribe(self) -> None:
        while True:
            try:
                await self._find_last()
                self._subscription = await self._js.subscribe(
                    ALL_POLICY_EVENTS, cb=self._take, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
                return
            except Exception as error:  # noqa: BLE001 - no stream yet, or NATS away: try again
                log.info("policies: %s not followed yet: %s", ALL_POLICY_EVENTS, error)
                await asyncio.sleep(RETRY_SECONDS)

    async def _find_last(self) -> None:
        try:
            self._last = (await self._js.get_last_msg(STREAM, ALL_POLICY_EVENTS)).seq or 0
        except NotFoundError:
            self._book.caught_up.set()  # nothing published yet: the fallback is all there is
        except APIError as error:  # a server without wildcard look-ups: caught up at the first message
            log.info("policies: newest version not looked up: %s", error)

    async def _take(self, message: object) -> None:
        try:
            envelope = policy_events.decode(message.data)  # type: ignore[attr-defined]
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            log.warning("policies: a policy message not understood, skipped: %s", error)
        else:
            self._book.take(envelope.data)  # type: ignore[attr-defined]
        if message.metadata.sequence.stream >= self._last:  # type: ignore[attr-defined]
            self._book.caught_up.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the connection may be closing already
                pass


async def follow_policies(js: JetStreamContext, book: PolicyBook, catch_up: float = CATCH_UP_SECONDS) -> PolicyFeed:
    """Start keeping ``book`` current and wait (a little) for the versions already published; stop the feed after."""
    feed = PolicyFeed(js, book)
    feed.start()
    try:
        await asyncio.wait_for(book.caught_up.wait(), catch_up)
    except TimeoutError:
        log.warning("policies: published versions not caught up in %.0fs; going on with what is known", catch_up)
    return feed


@asynccontextmanager
async def following_policies(js: JetStreamContext, book: PolicyBook,
                             catch_up: float = CATCH_UP_SECONDS) -> AsyncIterator[PolicyBook]:
    """Keep ``book`` current for the duration (a service's lifespan)."""
    feed = await follow_policies(js, book, catch_up)
    try:
        yield book
    finally:
        await feed.stop()
