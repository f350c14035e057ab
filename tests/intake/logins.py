"""Logins against a real intake process: a user to log in as, attempts, the credential row, the clock.

Throttling tests run intake on the simulated clock (CONTRACT §6), which stands still
between moves: a delay lasts exactly as long as the test says. ``advance`` moves the
shared instant in NATS (as ``POST /v1/admin/clock`` does, without waiting for an SLA
service these tests do not start); intake follows within a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import psycopg

from helpdesk_shared.clock_sync import NOW_KEY, open_bucket
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import wait_until

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Account:
    login: str
    customer_id: str


def env_of(**settings: Any) -> dict[str, str]:
    """``HELPDESK_<NAME>`` variables for intake settings given by field name."""
    return {f"HELPDESK_{name.upper()}": str(value) for name, value in settings.items()}


def start_intake(services: Any, simulated: bool = True, **settings: Any) -> httpx.Client:
    """An intake process with ``settings``; a client on it."""
    env = env_of(**settings) | ({"HELPDESK_CLOCK": "simulated"} if simulated else {})
    intake = services.start("intake", "serve", env=env)
    return httpx.Client(base_url=intake.url, timeout=30)


def customer_user(client: httpx.Client) -> Account:
    """A customer with one user whose password is ``PASSWORD``."""
    name = uuid.uuid4().hex[:8]
    customer = client.post("/v1/customers", headers=ADMIN,
                           json={"name": name, "email": f"it@{name}.test", "policy": "keysystems"})
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    user = client.post(f"/v1/customers/{customer_id}/users", headers=ADMIN, json={
        "name": "victim", "email": f"victim@{name}.test", "login": f"victim-{name}", "password": PASSWORD,
        "phone": "+7 495 000-00-00"})
    assert user.status_code == 201, user.text
    return Account(f"victim-{name}", customer_id)


def attempt(client: httpx.Client, login: str, password: str = "wrong password",
            forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/v1/auth/token", json={"login": login, "password": password}, headers=headers)


def assert_throttled(response: httpx.Response) -> int:
    """A 429 ``too_many_attempts`` problem; its ``Retry-After`` in seconds."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "too_many_attempts"
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


def once_not_throttled(client: httpx.Client, login: str, password: str = "wrong password",
                       forwarded_for: str | None = None) -> httpx.Response:
    """The first answer that is not a 429 (intake follows a clock move within a second)."""
    def answer() -> httpx.Response | None:
        response = attempt(client, login, password, forwarded_for)
        return None if response.status_code == 429 else response
    return wait_until(answer, timeout=10, message="intake still throttles after the clock moved")


def advance(nats_url: str, seconds: float) -> None:
    """Move the shared simulated clock forward by ``seconds``."""
    async def move() -> None:
        nc = await nats.connect(nats_url)
        try:
            kv = await open_bucket(nc)
            entry = await kv.get(NOW_KEY)
            now = dt.datetime.fromisoformat((entry.value or b"").decode()) + dt.timedelta(seconds=seconds)
            await kv.update(NOW_KEY, now.isoformat().encode(), last=entry.revision)
        finally:
            await nc.close()
    asyncio.run(move())


def stored_hash(database_url: str, login: str) -> str:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT password_hash FROM intake.credentials WHERE login = %s", (login,)).fetchone()[0]


def store_hash(database_url: str, login: str, password_hash: str) -> None:
    """Put a credential as an older release of the desk would have stored it."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE intake.credentials SET password_hash = %s WHERE login = %s", (password_hash, login))
