"""Medis preset (MED rules): the answers intake takes from the policy."""

from helpdesk_shared.policies import may_send_to_development
from helpdesk_shared.policies.rules import budget_allows
from helpdesk_shared.vocabulary import Category

from tests.shared.histories import POLICIES

MEDIS = POLICIES["medis"]


def test_med9_only_customization_tickets_go_to_development():
    assert may_send_to_development(MEDIS, Category.IMPROVEMENT)
    assert not may_send_to_development(MEDIS, Category.ERROR)
    assert not may_send_to_development(MEDIS, None)


def test_med12_tickets_are_accepted_within_the_monthly_norm_hours():
    assert MEDIS.budget.enforced and MEDIS.budget.measure == "planned"
    assert budget_allows(MEDIS, monthly_hours=20, used_minutes=18 * 60, new_minutes=120)
    assert not budget_allows(MEDIS, monthly_hours=20, used_minutes=18 * 60, new_minutes=121)
