"""Policy facts (CONTRACT §5): published versions of SLA policies, on ``helpdesk.policy.<policy_id>.<event>``.

Intake owns policies: an admin's upload or a file of ``HELPDESK_POLICY_DIR`` becomes a
version. Every service follows these facts (``helpdesk_shared.policy_book``) and takes
each policy's newest version, the TOML text itself, without a restart.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from helpdesk_shared.events import Actor, CloudEvent, Family


class PolicyFact(msgspec.Struct, frozen=True, kw_only=True):
    policy_id: str
    version: int  # the policy's version: 1 for its first publication, then one more per version
    actor: Actor
    occurred_at: dt.datetime


class PolicyPublished(PolicyFact, frozen=True, kw_only=True):
    """A new version of the policy is in force from ``occurred_at``: its TOML document and its SHA-256."""

    text: str
    fingerprint: str


POLICY_EVENT_TYPES: dict[type[PolicyFact], str] = {
    PolicyPublished: "helpdesk.policy.published",
}

FAMILY = Family(POLICY_EVENT_TYPES, CloudEvent, __name__)
ENVELOPES = FAMILY.envelopes
PolicyEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def wrap(fact: PolicyFact, *, event_id: str, sequence: int) -> CloudEvent:
    return FAMILY.envelope(fact, event_id=event_id, subject=fact.policy_id, sequence=sequence)
