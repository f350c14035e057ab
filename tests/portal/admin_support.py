"""Helpers of the admins' portal tests: an admin to sign in as, API calls with a user's own token."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.portal.conftest import PASSWORD, PortalStack
from tests.support.processes import ADMIN_TOKEN


def register(stack: PortalStack, role: str = "admin") -> str:
    """A new staff member with the test password (provisioned with the desk's admin token); their login."""
    login = f"{role}-{uuid.uuid4().hex[:6]}"
    answer = httpx.post(stack.intake + "/v1/staff", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                        json={"name": f"The {role}", "email": f"{login}@desk.test", "login": login,
                              "password": PASSWORD, "role": role}, timeout=10)
    assert answer.status_code == 201, answer.text
    return login


def token(stack: PortalStack, login: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(stack.intake + "/v1/auth/token", json={"login": login, "password": password}, timeout=10)


def call(stack: PortalStack, login: str, method: str, url: str, body: Any = None, **params: Any) -> Any:
    """An API call as ``login`` (``url`` absolute: intake's or query's); the answer's JSON."""
    bearer = token(stack, login).json()["access_token"]
    answer = httpx.request(method, url, json=body, params=params or None, timeout=10,
                           headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code < 300, answer.text
    return answer.json()


def read(stack: PortalStack, path: str, **params: Any) -> Any:
    """intake's directory as the desk's admin token reads it."""
    answer = httpx.get(stack.intake + path, params=params, timeout=10,
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def user_named(stack: PortalStack, customer_id: str, login: str) -> dict[str, Any]:
    """A customer's user as the directory shows them."""
    found = read(stack, f"/v1/customers/{customer_id}/users", limit=200)["items"]
    return next(u for u in found if u["login"] == login)
