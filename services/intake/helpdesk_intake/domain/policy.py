"""The Policy aggregate: the published versions of one SLA policy (CONTRACT §5).

A policy is data (``helpdesk_shared.policies``); each version is its whole TOML
document, published by an admin or imported from ``HELPDESK_POLICY_DIR``. The
aggregate's id is derived from the policy's id, so two intake replicas importing the
same file race on one aggregate and optimistic concurrency lets only one version in.
Publishing the document already in force changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from helpdesk_shared.vocabulary import Role

from helpdesk_intake.domain.base import Context, HelpdeskEvent, NotPermitted

PUBLISHERS = frozenset({Role.ADMIN, Role.SERVICE})


def fingerprint(text: str) -> str:
    """The SHA-256 of a document's text: two versions are the same document when these match."""
    return hashlib.sha256(text.encode()).hexdigest()


def policy_uuid(policy_id: str) -> UUID:
    """The aggregate id of a policy id (the same in every replica)."""
    return uuid5(NAMESPACE_URL, f"helpdesk:policy:{policy_id}")


@dataclass(frozen=True)
class Version:
    """One published version: its number, the document, and who published it when."""

    number: int
    text: str
    fingerprint: str
    published_at: dt.datetime
    by: str


class Policy(Aggregate):
    TOPIC = "helpdesk:Policy"

    class Event(HelpdeskEvent):
        pass

    class Registered(Aggregate.Created, Event):
        TOPIC = "helpdesk:Policy.Registered"
        policy_id: str

    Created = Registered

    class Published(Event):
        TOPIC = "helpdesk:Policy.Published"
        text: str
        fingerprint: str

        def apply(self, policy: Policy) -> None:
            policy.versions.append(Version(len(policy.versions) + 1, self.text, self.fingerprint,
                                           self.timestamp, self.actor_id))

    def __init__(self, policy_id: str, **_: Any) -> None:
        self.policy_id = policy_id
        self.versions: list[Version] = []

    @classmethod
    def register(cls, ctx: Context, policy_id: str) -> Policy:
        """A policy id not seen before; its first version follows at once."""
        _require_publisher(ctx)
        return cls._create(cls.Registered, id=policy_uuid(policy_id), policy_id=policy_id, **ctx.event_fields())

    def publish(self, ctx: Context, text: str) -> bool:
        """Publish ``text`` (already validated) as the next version; False when it is the version in force."""
        _require_publisher(ctx)
        digest = fingerprint(text)
        if self.versions and self.versions[-1].fingerprint == digest:
            return False
        self.trigger_event(self.Published, text=text, fingerprint=digest, **ctx.event_fields())
        return True

    @property
    def current(self) -> Version:
        return self.versions[-1]

    def in_force_at(self, instant: dt.datetime) -> Version | None:
        """The version in force at ``instant``: the newest published at or before it."""
        older = [v for v in self.versions if v.published_at <= instant]
        return older[-1] if older else None


def _require_publisher(ctx: Context) -> None:
    if ctx.role not in PUBLISHERS:
        raise NotPermitted("only admins publish policies")
