"""A provisioned service desk for tests: customers, their users, staff, and their tokens.

Works over any httpx-compatible client: litestar's TestClient (in-process app)
or an ``httpx.Client`` pointed at a real intake process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.processes import ADMIN_TOKEN

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Desk:
    client: httpx.Client
    customer_id: str
    other_customer_id: str
    customer: dict[str, str]
    other_customer: dict[str, str]
    agent: dict[str, str]
    auditor: dict[str, str]
    admin: dict[str, str]

    def open(self, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        body = {"subject": "Printer", "description": "It is on fire", **fields}
        response = self.client.post("/v1/tickets", json=body, headers=headers or self.customer)
        assert response.status_code == 201, response.text
        return response.json()

    def act(self, ticket_id: str, action: str, headers: dict[str, str] | None = None,
            **body: Any) -> httpx.Response:
        return self.client.post(f"/v1/tickets/{ticket_id}/actions/{action}", json=body,
                                headers=headers or self.agent)


def provision(client: httpx.Client, policy: str = "keysystems") -> Desk:
    """Two customers with one user each, an agent and an auditor; everyone logged in."""
    admin = bearer(ADMIN_TOKEN)
    suffix = uuid.uuid4().hex[:8]

    def created(path: str, body: dict[str, Any]) -> str:
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def token(login: str) -> dict[str, str]:
        response = client.post("/v1/auth/token", json={"login": login, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return bearer(response.json()["access_token"])

    customers = []
    for name in ("acme", "globex"):
        customer_id = created("/v1/customers", {"name": name, "email": f"it@{name}.test", "policy": policy})
        created(f"/v1/customers/{customer_id}/users", {
            "name": f"{name} user", "email": f"user@{name}.test", "login": f"{name}-{suffix}",
            "password": PASSWORD})
        customers.append(customer_id)
    for role in ("agent", "auditor"):
        created("/v1/staff", {"name": role, "email": f"{role}@desk.test", "login": f"{role}-{suffix}",
                              "password": PASSWORD, "role": role})
    return Desk(client, customers[0], customers[1], token(f"acme-{suffix}"), token(f"globex-{suffix}"),
                token(f"agent-{suffix}"), token(f"auditor-{suffix}"), admin)
