"""The regulations' data as domain rules: catalogue, forms, priorities, channels, norm-hours (no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpdesk_shared.policies import load_policies, parse_policy, PolicyError
from helpdesk_shared.policies.offering import catalogue_document
from helpdesk_shared.vocabulary import Role

from helpdesk_intake.adapters.policies import PolicyTicketRules
from helpdesk_intake.domain.base import Context, InvalidInput
from helpdesk_intake.domain.budget import BudgetExceeded, MonthBudget, PaidSupportOnly, billable_allowed
from helpdesk_intake.domain.offer import ChannelClosed
from helpdesk_intake.domain.ticket import Ticket

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CUSTOMER = Context("u1", Role.CUSTOMER, NOW, customer_id="c1")
AGENT = Context("a1", Role.AGENT, NOW)
POLICIES = load_policies()


def rules(policy: str) -> PolicyTicketRules:
    return PolicyTicketRules(POLICIES[policy])


def opened(policy: str, lenient: bool = False, **fields: object) -> Ticket:
    body = {"subject": "s", "description": "d", "channel": "portal", "category": None, "priority": "normal",
            "service": None, "requester_id": "u1", "policy": policy, **fields}
    return Ticket.open(CUSTOMER, rules(policy), id=uuid.uuid4(), number="HD-1", customer_id="c1",
                       lenient=lenient, **body)


def refused_fields(policy: str, **fields: object) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        opened(policy, **fields)
    return [name for name, _ in refused.value.fields]


def test_med3_a_service_is_a_code_of_the_two_level_catalogue() -> None:
    assert opened("medis", service="6.3").service == "6.3"
    assert opened("medis", service="5").service == "5"
    assert refused_fields("medis", service="7") == ["service"]
    assert refused_fields("keysystems", service="6.3", details={"entity": "x"}) == ["service"]  # no catalogue


def test_med3_paid_extra_services_are_marked_and_children_keep_their_group() -> None:
    medis = rules("medis")
    assert medis.paid_extra("5.2") and medis.paid_extra("2") and not medis.paid_extra("6.1")
    document = catalogue_document(POLICIES["medis"])
    maintenance = next(s for s in document["services"] if s["code"] == "6")
    assert [c["code"] for c in maintenance["children"]] == ["6.1", "6.2", "6.3", "6.4"]
    assert maintenance["name"] == {"ru": "Сопровождение", "en": "Maintenance"}


def test_imc1_the_numbered_catalogue_keeps_its_numbers() -> None:
    codes = [c["code"] for s in catalogue_document(POLICIES["imc"])["services"] for c in [s, *s["children"]]]
    assert codes[:4] == ["1", "2", "3", "4"] and "6.2.4" in codes and "4.2" in codes


def test_med3_a_third_level_or_a_duplicate_code_is_a_policy_error() -> None:
    base = 'id = "x"\nname = "x"\n[calendar]\ntimezone = "UTC"\n[calendar.hours]\nmon = ["09:00-18:00"]\n'
    twice = base + '[[services]]\ncode = "1"\nname = {ru = "a", en = "a"}\n[[services]]\ncode = "1"\nname = {ru = "b", en = "b"}\n'
    with pytest.raises(PolicyError, match="twice"):
        parse_policy(twice)
    deep = base + ('[[services]]\ncode = "1"\nname = {ru = "a", en = "a"}\nchildren = [{code = "1.1", name = {ru = "b", en = "b"},'
                   ' children = [{code = "1.1.1", name = {ru = "c", en = "c"}}]}]\n')
    with pytest.raises(PolicyError, match="two"):
        parse_policy(deep)


def test_med2_medis_offers_normal_and_high_only() -> None:
    assert opened("medis", priority="high").priority.value == "high"
    assert refused_fields("medis", priority="urgent") == ["priority"]
    assert refused_fields("medis", priority="low") == ["priority"]
    ticket = opened("medis")
    with pytest.raises(InvalidInput):
        ticket.triage(AGENT, rules("medis"), priority="urgent")


def test_tel5_telemed_registers_chat_and_email_only_end2_endocs_no_phone() -> None:
    tel = {"version": "5.2", "platform": "web"}
    assert opened("telemed", channel="chat", details=tel).channel.value == "chat"
    with pytest.raises(ChannelClosed):
        opened("telemed", channel="portal", details=tel)
    with pytest.raises(ChannelClosed):
        opened("endocs", channel="phone", details={"spread": "one_user", "tried": "x"})


def test_ks7_every_request_names_the_entity_and_an_improvement_its_deadline() -> None:
    assert refused_fields("keysystems") == ["details.entity"]
    assert refused_fields("keysystems", category="improvement", details={"entity": "inv 1"}) == [
        "details.desired_deadline"]
    assert refused_fields("keysystems", category="improvement",
                          details={"entity": "inv 1", "desired_deadline": "next week"}) == ["details.desired_deadline"]
    ticket = opened("keysystems", category="improvement", details={"entity": "inv 1", "desired_deadline": "2026-04-01"})
    assert ticket.details == {"entity": "inv 1", "desired_deadline": "2026-04-01"}


def test_end8_endocs_asks_how_widespread_and_what_was_tried_typed() -> None:
    assert refused_fields("endocs") == ["details.spread", "details.tried"]
    assert refused_fields("endocs", details={"spread": "everyone", "tried": "x"}) == ["details.spread"]
    assert refused_fields("endocs", details={"spread": "one_user", "tried": 5}) == ["details.tried"]
    assert refused_fields("endocs", details={"spread": "one_user", "tried": "x", "client_id": "7"}) == [
        "details.client_id"]  # the client ID is the customer's client_code, never a detail


def test_tel7_telemed_requests_name_version_and_platform() -> None:
    assert refused_fields("telemed", channel="chat") == ["details.version", "details.platform"]
    assert refused_fields("telemed", channel="chat", details={"version": "5", "platform": "symbian"}) == [
        "details.platform"]


def test_med11_a_medis_error_carries_steps_and_examples() -> None:
    assert refused_fields("medis", category="error") == ["details.steps", "details.examples"]
    assert opened("medis", category="support").details == {}


def test_ks7_oversized_details_are_refused() -> None:
    assert refused_fields("keysystems", details={"entity": "x" * 4001}) == ["details.entity"]
    assert refused_fields("keysystems", details={f"f{i}": "x" * 3000 for i in range(8)}) == ["details"]


def test_ks7_mail_is_never_refused_for_missing_details_it_is_flagged() -> None:
    ticket = opened("telemed", lenient=True, channel="email")
    assert ticket.missing_details == ("details.version", "details.platform")


def test_ks7_details_changed_is_one_specific_event_and_completes_an_incomplete_request() -> None:
    ticket = opened("telemed", lenient=True, channel="email")
    ticket.triage(AGENT, rules("telemed"), details={"version": "5.2"})
    ticket.triage(AGENT, rules("telemed"), details={"platform": "ios"})
    changes = [e for e in ticket.collect_events() if isinstance(e, Ticket.DetailsChanged)]
    assert [c.missing_details for c in changes] == [("details.platform",), ()]
    assert ticket.details == {"version": "5.2", "platform": "ios"} and not ticket.missing_details
    with pytest.raises(InvalidInput):
        ticket.triage(AGENT, rules("telemed"), details={"platform": "amiga"})


def accept(policy: str, budget: MonthBudget, planned: int | None, service: str | None = None) -> Ticket:
    ticket = opened(policy, service=service)
    if planned is not None:
        ticket.triage(AGENT, rules(policy), planned_minutes=planned)
    ticket.act(AGENT, rules(policy), "accept", budget=budget)
    return ticket


def test_med12_under_a_budget_accepting_needs_planned_minutes() -> None:
    with pytest.raises(InvalidInput) as refused:
        accept("medis", MonthBudget("2026-03", 600, 0), planned=None)
    assert refused.value.field == "planned_minutes"
    accept("medis", MonthBudget("2026-03", None), planned=None)  # no budget: nothing needed


def test_med12_accepting_past_the_months_budget_is_refused_unless_paid_extra() -> None:
    with pytest.raises(BudgetExceeded):
        accept("medis", MonthBudget("2026-03", 600, 550), planned=60, service="6.1")
    ticket = accept("medis", MonthBudget("2026-03", 600, 550), planned=60, service="5.1")
    accepted = [e for e in ticket.collect_events() if isinstance(e, Ticket.Accepted)][0]
    assert (accepted.budget_month, accepted.budget_minutes, accepted.budget_limit) == ("2026-03", 0, 600)
    within = accept("medis", MonthBudget("2026-03", 600, 540), planned=60, service="6.1")
    assert [e for e in within.collect_events() if isinstance(e, Ticket.Accepted)][0].budget_minutes == 60


def test_end7_billable_time_only_for_customers_with_paid_support() -> None:
    with pytest.raises(PaidSupportOnly):
        billable_allowed(True, paid_support=False, paid_support_only=True)
    assert billable_allowed(None, paid_support=False, paid_support_only=True) is False
    assert billable_allowed(None, paid_support=True, paid_support_only=True) is True
    assert billable_allowed(None, paid_support=False, paid_support_only=False) is True
    assert rules("endocs").paid_support_only() and not rules("keysystems").paid_support_only()


def test_tel9_telemed_serves_its_seven_deferral_reasons() -> None:
    reasons = catalogue_document(POLICIES["telemed"])["deferral_reasons"]
    assert [r["code"] for r in reasons] == ["cannot_reproduce", "not_enough_information", "needs_development",
                                            "requirements_broken", "out_of_scope", "unconstructive", "abusive"]
    assert all(r["label"]["ru"] and r["label"]["en"] for r in reasons)


def test_ks9_keysystems_requires_a_phone_of_its_users() -> None:
    assert POLICIES["keysystems"].require_phone and not POLICIES["medis"].require_phone
