"""A provisioned service desk for tests: customers, their users, staff, and their tokens.

Works over any httpx-compatible client: litestar's TestClient (in-process app)
or an ``httpx.Client`` pointed at a real intake process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.processes import ADMIN_TOKEN

PASSWORD = "correct horse battery"
PHONE = "+7 495 000-00-00"  # KS-9: keysystems requires a phone of every user


def form_details(policy: str, category: str | None = None) -> dict[str, Any]:
    """Details that satisfy the preset's request form (KS-7, END-8, TEL-7, MED-11)."""
    match policy:
        case "keysystems":
            deadline = {"desired_deadline": "2030-01-31"} if category == "improvement" else {}
            return {"entity": "invoice 42 of 2026-03-01, Acme", **deadline}
        case "endocs":
            return {"spread": "one_user", "tried": "restarted the client"}
        case "telemed":
            return {"version": "5.2.1", "platform": "web"}
        case "medis" if category == "error":
            return {"steps": "open the report, press print", "examples": "report 7 of 2026-03-01"}
    return {}


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
    policy: str = "keysystems"
    users: dict[str, str] = field(default_factory=dict)  # customer id → its registered user (TEL-7)

    def open(self, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        details = form_details(self.policy, fields.get("category"))
        body = {"subject": "Printer", "description": "It is on fire", **({"details": details} if details else {}),
                **fields}
        if body.get("customer_id") in self.users and "requester_id" not in body:  # TEL-7: staff name one
            body["requester_id"] = self.users[body["customer_id"]]
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

    customers, users = [], {}
    for name in ("acme", "globex"):
        customer_id = created("/v1/customers", {"name": name, "email": f"it@{name}.test", "policy": policy})
        users[customer_id] = created(f"/v1/customers/{customer_id}/users", {
            "name": f"{name} user", "email": f"user@{name}.test", "login": f"{name}-{suffix}",
            "password": PASSWORD, "phone": PHONE})
        customers.append(customer_id)
    for role in ("agent", "auditor"):
        created("/v1/staff", {"name": role, "email": f"{role}@desk.test", "login": f"{role}-{suffix}",
                              "password": PASSWORD, "role": role})
    return Desk(client, customers[0], customers[1], token(f"acme-{suffix}"), token(f"globex-{suffix}"),
                token(f"agent-{suffix}"), token(f"auditor-{suffix}"), admin, policy, users)


KS7 = form_details("keysystems")  # the details a keysystems request must carry (KS-7)
