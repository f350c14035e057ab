"""The Customer aggregate: a client organisation, its SLA policy and its contract (MED-4, MED-12)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from helpdesk_intake.domain.base import Context, HelpdeskEvent, InvalidInput, NotPermitted
from helpdesk_shared.vocabulary import LANGUAGES, Role


class Customer(Aggregate):
    TOPIC = "helpdesk:Customer"

    class Event(HelpdeskEvent):
        pass

    class Registered(Aggregate.Created, Event):
        TOPIC = "helpdesk:Customer.Registered"
        name: str
        email: str
        client_code: str | None
        policy: str
        monthly_hours: float | None
        paid_support: bool
        active: bool

    Created = Registered

    class PolicyChanged(Event):
        TOPIC = "helpdesk:Customer.PolicyChanged"
        policy: str

        def apply(self, customer: Customer) -> None:
            customer.policy = self.policy

    class ContractChanged(Event):
        TOPIC = "helpdesk:Customer.ContractChanged"
        monthly_hours: float | None
        paid_support: bool
        active: bool

        def apply(self, customer: Customer) -> None:
            customer.monthly_hours = self.monthly_hours
            customer.paid_support = self.paid_support
            customer.active = self.active

    class LanguageChosen(Event):
        """The customer's default language of mail and pages, for users who chose none."""

        TOPIC = "helpdesk:Customer.LanguageChosen"
        language: str

        def apply(self, customer: Customer) -> None:
            customer.language = self.language

    def __init__(
        self, name: str, email: str, client_code: str | None, policy: str,
        monthly_hours: float | None, paid_support: bool, active: bool, **_: Any,
    ) -> None:
        self.name = name
        self.email = email
        self.client_code = client_code
        self.policy = policy
        self.monthly_hours = monthly_hours
        self.paid_support = paid_support
        self.active = active
        self.language: str | None = None

    @classmethod
    def register(cls, ctx: Context, *, id: UUID, name: str, email: str, client_code: str | None,
                 policy: str, contract: dict[str, Any]) -> Customer:
        """Provision a customer with its policy and contract (admin only)."""
        _require_admin(ctx)
        if not name.strip():
            raise InvalidInput("name is required", field="name")
        terms = _contract_terms(contract, monthly_hours=None, paid_support=False, active=True)
        return cls._create(cls.Registered, id=id, name=name, email=email, client_code=client_code,
                           policy=policy, **terms, **ctx.event_fields())

    def choose_language(self, ctx: Context, language: str) -> None:
        """The default language of the customer's users' mail and pages (admin only)."""
        _require_admin(ctx)
        if language not in LANGUAGES:
            raise InvalidInput(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}", field="language")
        if language != self.language:
            self.trigger_event(self.LanguageChosen, language=language, **ctx.event_fields())

    def change(self, ctx: Context, *, policy: str | None, contract: dict[str, Any] | None) -> None:
        """Change the policy or the contract; ``active=False`` blocks the customer's users (MED-4)."""
        _require_admin(ctx)
        if policy is not None and policy != self.policy:
            self.trigger_event(self.PolicyChanged, policy=policy, **ctx.event_fields())
        if contract:
            terms = _contract_terms(contract, monthly_hours=self.monthly_hours,
                                    paid_support=self.paid_support, active=self.active)
            if terms != {"monthly_hours": self.monthly_hours, "paid_support": self.paid_support,
                         "active": self.active}:
                self.trigger_event(self.ContractChanged, **terms, **ctx.event_fields())


def _contract_terms(contract: dict[str, Any], **current: Any) -> dict[str, Any]:
    terms = {key: contract.get(key, value) for key, value in current.items()}
    if terms["monthly_hours"] is not None and terms["monthly_hours"] < 0:
        raise InvalidInput("monthly_hours cannot be negative", field="contract.monthly_hours")
    return terms


def _require_admin(ctx: Context) -> None:
    if ctx.role is not Role.ADMIN:
        raise NotPermitted("only an admin provisions customers")
