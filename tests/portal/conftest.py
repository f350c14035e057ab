"""The portal's tests: the desk and the portal as real processes, one stack per test module.

``portal_stack`` starts intake (with its relay), query, sla, notify and the portal on a fresh
database and NATS, and provisions two customers (MedIS policy) with one user each and an agent,
all with known logins, so tests sign in through the portal's own login form.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpdesk_devstack import SmtpCatcher, free_port

from tests.support import servers
from tests.support.processes import ADMIN_TOKEN, Services, base_env

PASSWORD = "portal-secret-1"


@dataclass
class PortalStack:
    portal: str
    intake: str
    query: str
    customer: str  # logins
    other_customer: str
    agent: str
    customer_id: str
    other_customer_id: str
    services: Services


def _provision(intake: str) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    suffix = uuid.uuid4().hex[:6]
    made: dict[str, str] = {}
    with httpx.Client(base_url=intake, headers=admin, timeout=10) as client:
        for name, policy in (("acme", "medis"), ("globex", "medis")):
            answer = client.post("/v1/customers", json={"name": name.title(), "email": f"it@{name}.test",
                                                        "policy": policy})
            assert answer.status_code == 201, answer.text
            made[f"{name}_id"] = answer.json()["id"]
            login = f"{name}-{suffix}"
            answer = client.post(f"/v1/customers/{made[f'{name}_id']}/users", json={
                "name": f"{name.title()} user", "email": f"user@{name}.test", "login": login, "password": PASSWORD})
            assert answer.status_code == 201, answer.text
            made[name] = login
        login = f"agent-{suffix}"
        answer = client.post("/v1/staff", json={"name": "Agent", "email": f"{login}@desk.test", "login": login,
                                                "password": PASSWORD, "role": "agent"})
        assert answer.status_code == 201, answer.text
        made["agent"] = login
    return made


@pytest.fixture(scope="module")
def portal_stack(postgres_server: servers.PostgresServer, tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[PortalStack]:
    """``PORTAL_ENV`` in a test module adds settings for every service of its stack (e.g. the simulated clock)."""
    root = tmp_path_factory.mktemp("portal")
    with servers.fresh_database(postgres_server) as database_url, servers.nats_server(root / "nats") as nats, \
            SmtpCatcher(root / "mail", free_port()) as smtp:
        env = {**base_env(database_url, nats.url, smtp.url, root / "data"), **getattr(request.module, "PORTAL_ENV", {})}
        services = Services(env, root)
        try:
            for name, args in (("intake", "serve"), ("intake", "relay"), ("query", "serve"), ("sla", "serve"),
                               ("notify", "serve")):
                services.start(name, args)
            portal = services.start("portal", "serve", env={"HELPDESK_PORTAL_SECURE_COOKIES": "false",
                                                            "HELPDESK_PORTAL_SECRET": "test-portal-secret"})
            urls = {s.name: s.url for s in services.started if s.url}
            made = _provision(urls["intake"])
            yield PortalStack(portal.url or "", urls["intake"], urls["query"], made["acme"], made["globex"],
                              made["agent"], made["acme_id"], made["globex_id"], services)
        finally:
            services.stop_all()


def signed_in(stack: PortalStack, login: str) -> httpx.Client:
    """An HTTP client holding a portal session, signed in through the login form like a browser."""
    client = httpx.Client(base_url=stack.portal, timeout=15)
    page = client.get("/login")
    response = client.post("/login", data={"login": login, "password": PASSWORD,
                                           "_csrf_token": csrf_token(page.text)})
    assert response.status_code == 303, response.text
    return client


def csrf_token(html: str) -> str:
    marker = 'name="_csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def output_dir(name: str) -> Path:
    """Where a test leaves what a reviewer looks at (screenshots): test-output/portal/<name>/."""
    path = Path(__file__).resolve().parents[2] / "test-output" / "portal" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
