"""A small HTTP client for the end-to-end tests: intake for commands, query for reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.processes import ADMIN_TOKEN


@dataclass
class Caller:
    token: str
    customer_id: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Desk:
    def __init__(self, intake_url: str, query_url: str) -> None:
        self.intake = httpx.Client(base_url=intake_url, timeout=10)
        self.query = httpx.Client(base_url=query_url, timeout=10)
        self.admin = Caller(ADMIN_TOKEN)

    def close(self) -> None:
        self.intake.close()
        self.query.close()

    def command(self, caller: Caller, method: str, path: str, body: Any = None) -> tuple[dict[str, Any], int]:
        """Run a command on intake; its answer and the position of its last event."""
        response = self.intake.request(method, path, json=body, headers=caller.auth)
        assert response.status_code in (200, 201), response.text
        return response.json(), int(response.headers.get("Helpdesk-Position", 0))

    def customer(self, name: str) -> Caller:
        customer, _ = self.command(self.admin, "POST", "/v1/customers",
                                   {"name": name, "email": f"it@{name}.test", "policy": "medis"})
        login = f"{name}-{uuid.uuid4().hex[:6]}"
        self.command(self.admin, "POST", f"/v1/customers/{customer['id']}/users",
                     {"name": name, "email": f"u@{name}.test", "login": login, "password": "secret123"})
        return Caller(self._token(login), customer["id"])

    def staff(self, role: str) -> Caller:
        login = f"{role}-{uuid.uuid4().hex[:6]}"
        self.command(self.admin, "POST", "/v1/staff",
                     {"name": role, "email": f"{login}@desk.test", "login": login, "password": "secret123",
                      "role": role})
        return Caller(self._token(login))

    def _token(self, login: str) -> str:
        response = self.intake.post("/v1/auth/token", json={"login": login, "password": "secret123"})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def read(self, caller: Caller, path: str, position: int | None = None, **params: Any) -> httpx.Response:
        headers = dict(caller.auth)
        if position is not None:
            headers["Helpdesk-Min-Position"] = str(position)
        return self.query.get(path, params=params, headers=headers)
