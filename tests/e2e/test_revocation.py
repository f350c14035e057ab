"""Revocation end to end (CONTRACT §2; MED-4, IMC-2): intake, its relay, query, sla and notify as real processes.

A blocked user's token, a user's other tokens after a password change, and the tokens of a
customer whose contract ended stop working on every service within a second, because each
service follows the directory's facts on the stream, not because the tokens expired.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.test_platform_keys import PARKED, admin_login
from tests.support.desk import bearer
from tests.support.stack import start_stack
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
WITHIN = 1.0  # seconds: CONTRACT §2


def _revoked_within(url: str, token: str, change: Any) -> float:
    """Make ``change``, then the seconds until ``url`` answers the token 401."""
    assert httpx.get(url, headers=bearer(token), timeout=10).status_code == 200
    change()
    started = time.monotonic()
    wait_until(lambda: httpx.get(url, headers=bearer(token), timeout=10).status_code == 401, timeout=10,
               interval=0.02, message=f"{url} still accepts a revoked token")
    return time.monotonic() - started


def test_med4_a_blocked_users_token_stops_reading_on_query_within_a_second(
        services: Any, nats_url: str, database_url: str) -> None:
    stack = start_stack(services, nats_url, database_url)
    desk, query = stack.desk, stack.urls["query"]
    [user] = desk.client.get(f"/v1/customers/{desk.customer_id}/users", headers=desk.admin).json()["items"]
    token = desk.customer["Authorization"].split()[1]

    def block() -> None:
        assert desk.client.patch(f"/v1/users/{user['id']}", json={"blocked": True},
                                 headers=desk.admin).status_code == 200

    took = _revoked_within(f"{query}/v1/tickets", token, block)
    assert took < WITHIN, f"query took {took:.2f} s"
    answer = httpx.get(f"{query}/v1/tickets", headers=desk.customer, timeout=10).json()
    assert answer["code"] == "unauthorized" and "blocked" in answer["detail"]
    intake_answer = desk.client.post("/v1/tickets", json={"subject": "s", "description": "d"}, headers=desk.customer)
    assert intake_answer.status_code == 401

    other = desk.other_customer["Authorization"].split()[1]  # MED-4: the contract ends, its users' tokens with it
    took = _revoked_within(f"{query}/v1/tickets", other, lambda: desk.client.patch(
        f"/v1/customers/{desk.other_customer_id}", json={"contract": {"active": False}}, headers=desk.admin))
    assert took < WITHIN, f"query took {took:.2f} s for the customer's contract"

    login, admin = admin_login(desk.client)  # a password reset ends the sessions on sla and notify too
    [me] = [s for s in desk.client.get("/v1/staff?limit=200", headers=desk.admin).json()["items"]
            if s["login"] == login]
    changed = {}

    def reset() -> None:
        changed["answer"] = desk.client.post(f"/v1/users/{me['id']}/password",
                                             json={"password": "another long passphrase"}, headers=desk.admin)

    for name in ("sla", "notify"):
        assert httpx.get(stack.urls[name] + PARKED, headers=bearer(admin), timeout=10).status_code == 200
    took = _revoked_within(stack.urls["sla"] + PARKED, admin, reset)
    assert changed["answer"].status_code == 200 and took < WITHIN, f"sla took {took:.2f} s"
    assert httpx.get(stack.urls["notify"] + PARKED, headers=bearer(admin), timeout=10).status_code == 401
