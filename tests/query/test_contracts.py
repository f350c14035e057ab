"""Customers' contracts for the hours report (MED-12): which month has a budget though nothing was used."""

from __future__ import annotations

import datetime as dt

from helpdesk_shared import directory_events as directory
from helpdesk_shared.events import Actor
from helpdesk_shared.policies.loader import load_policies
from helpdesk_shared.vocabulary import Role

from helpdesk_query.domain.contracts import Terms, fold, unused_months

POLICIES = load_policies(None)
ADMIN = Actor("a", Role.ADMIN)


def _at(month: int, day: int = 10) -> dict[str, object]:
    return {"version": 1, "actor": ADMIN, "occurred_at": dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)}


def test_med12_a_budgeted_customer_without_usage_gets_a_row_of_0_used_under_the_terms_then_in_force() -> None:
    histories: dict[str, list[Terms]] = {}
    fold(histories, directory.CustomerRegistered(customer_id="c1", name="C", email="c@x", policy="medis",
                                                 monthly_hours=10, **_at(2)))  # type: ignore[arg-type]
    fold(histories, directory.CustomerRegistered(customer_id="c2", name="D", email="d@x", policy="medis",
                                                 **_at(2)))  # type: ignore[arg-type]
    fold(histories, directory.CustomerContractChanged(customer_id="c1", monthly_hours=20, **_at(4)))  # type: ignore[arg-type]
    march = unused_months(histories, "2026-03", POLICIES, present=())
    assert march == [{"customer_id": "c1", "month": "2026-03", "policy": "medis", "budget_minutes": 600,
                      "planned_minutes": 0, "used_minutes": 0}]
    assert [r["budget_minutes"] for r in unused_months(histories, "2026-04", POLICIES, present=())] == [1200]
    assert unused_months(histories, "2026-01", POLICIES, present=()) == []  # not yet a customer
    assert unused_months(histories, "2026-03", POLICIES, present={"c1"}) == []  # it has its row
    assert unused_months(histories, "2026-03", POLICIES, present=(), only="c2") == []  # no norm-hours


def test_med12_an_inactive_contract_shows_no_budget_and_the_month_follows_the_policys_zone() -> None:
    histories: dict[str, list[Terms]] = {}
    fold(histories, directory.CustomerRegistered(customer_id="c1", name="C", email="c@x", policy="medis",
                                                 monthly_hours=10, **_at(2)))  # type: ignore[arg-type]
    late_march_utc = {**_at(3, 31), "occurred_at": dt.datetime(2026, 3, 31, 22, tzinfo=dt.UTC)}  # April in Moscow
    fold(histories, directory.CustomerContractChanged(customer_id="c1", monthly_hours=10, active=False,
                                                      **late_march_utc))  # type: ignore[arg-type]
    assert [r["budget_minutes"] for r in unused_months(histories, "2026-03", POLICIES, present=())] == [600]
    assert unused_months(histories, "2026-04", POLICIES, present=()) == []
