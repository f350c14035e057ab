"""What a customer's policy offers, for clients to render (CONTRACT §3 ``GET /v1/catalogue``)."""

from __future__ import annotations

from typing import Any

from helpdesk_shared.policies.offering import catalogue_document
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.application.service import IntakeService, NotFound
from helpdesk_intake.domain.base import InvalidInput
from helpdesk_intake.domain.customer import Customer


class CatalogueService(IntakeService):
    def catalogue(self, principal: Principal, customer_id: str | None) -> dict[str, Any]:
        """The service catalogue, forms, priorities, channels and deferral reasons of the caller's policy.

        A customer's user reads its own customer's; staff name the customer.
        """
        if principal.role is Role.CUSTOMER:
            if customer_id not in (None, principal.customer_id):
                raise NotFound(f"no customer {customer_id}")
            customer_id = principal.customer_id
        if not customer_id:
            raise InvalidInput("staff name the customer: ?customer_id=", field="customer_id")
        policy = self.rules_for(self.load(Customer, customer_id).policy).policy  # type: ignore[attr-defined]
        return {"customer_id": customer_id, **catalogue_document(policy)}
