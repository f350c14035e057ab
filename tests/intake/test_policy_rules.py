"""The Policy aggregate (CONTRACT §5): given events, a command, the events it adds."""

from __future__ import annotations

import datetime as dt

import pytest

from helpdesk_shared.vocabulary import Role

from helpdesk_intake.domain.base import Context, NotPermitted
from helpdesk_intake.domain.policy import Policy, policy_uuid

MONDAY = dt.datetime(2026, 2, 2, 7, 0, tzinfo=dt.UTC)


def admin(at: dt.datetime) -> Context:
    return Context("admin", Role.ADMIN, at)


def test_policies_as_events_each_new_document_is_a_version_and_the_one_in_force_is_none() -> None:
    policy = Policy.register(admin(MONDAY), "acme")
    assert policy.id == policy_uuid("acme")  # the same aggregate in every replica
    assert policy.publish(admin(MONDAY), "id = 'acme'  # v1")
    assert not policy.publish(admin(MONDAY + dt.timedelta(hours=1)), "id = 'acme'  # v1")
    assert policy.publish(admin(MONDAY + dt.timedelta(days=1)), "id = 'acme'  # v2")
    assert [type(e).__name__ for e in policy.collect_events()] == ["Registered", "Published", "Published"]
    assert [v.number for v in policy.versions] == [1, 2]
    assert policy.in_force_at(MONDAY - dt.timedelta(seconds=1)) is None
    assert policy.in_force_at(MONDAY + dt.timedelta(hours=23)).number == 1
    assert policy.in_force_at(MONDAY + dt.timedelta(days=1)).number == 2


def test_policies_as_events_only_admins_and_intake_itself_publish() -> None:
    with pytest.raises(NotPermitted):
        Policy.register(Context("agent-1", Role.AGENT, MONDAY), "acme")
