"""A service desk on the simulated clock: open tickets, move them, move time, read what happened.

Time moves only through intake's ``POST /v1/admin/clock`` (CONTRACT §6), which answers
once every timer due by then has fired and its command was applied; the tests then
read the outcome from the HELPDESK stream (ticket facts and SLA facts).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import nats

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared.clock_sync import NOW_KEY, open_bucket
from tests.support.desk import Desk, provision
from tests.support.processes import ADMIN_TOKEN
from tests.support.stream import read_all
from tests.support.waiting import wait_until

MSK = ZoneInfo("Europe/Moscow")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=MSK)


@dataclass
class Scenario:
    services: Any
    nats_url: str
    client: httpx.Client
    desk: Desk
    sla: list[Any] = field(default_factory=list)
    query: Any = None

    @classmethod
    def start(cls, services: Any, policy: str, sla_processes: int = 1, start: dt.datetime | None = None,
              query: bool = False, env: dict[str, str] | None = None) -> Scenario:
        simulated = {"HELPDESK_CLOCK": "simulated", **(env or {})}
        services.env.update(simulated)  # restarted and later processes see the same settings
        nats_url = services.env["HELPDESK_NATS_URL"]
        if start is not None:
            set_shared_clock(nats_url, start)  # the scenario's first instant, before anyone follows it
        intake = services.start("intake", "serve", env=simulated)
        services.start("intake", "relay")
        client = httpx.Client(base_url=intake.url, timeout=90)
        slas = [services.start("sla", "serve", env=simulated) for _ in range(sla_processes)]
        query_process = services.start("query", "serve", env=simulated) if query else None
        return cls(services, nats_url, client, provision(client, policy=policy), slas, query_process)

    def close(self) -> None:
        self.client.close()

    # -- time -----------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.clock()["now"])

    def clock(self) -> dict[str, Any]:
        response = self.client.get("/v1/admin/clock", headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()

    def move_to(self, instant: dt.datetime) -> dict[str, Any]:
        """Move the shared clock to ``instant`` and insist that everything due by then settled."""
        response = self.client.post("/v1/admin/clock", json={"now": instant.isoformat()}, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json()["settled"], response.json()
        return response.json()

    def advance(self, **delta: float) -> dict[str, Any]:
        return self.move_to(self.now() + dt.timedelta(**delta))

    def settle(self) -> None:
        """Wait until the SLA has taken in every ticket event so far (without moving time)."""
        wait_until(lambda: self.clock()["settled"], timeout=15, message="the SLA did not settle")

    # -- tickets ---------------------------------------------------------------------------

    def open(self, **fields: Any) -> str:
        ticket = self.desk.open(**fields)
        self.settle()
        return str(ticket["id"])

    def act(self, ticket_id: str, action: str, as_customer: bool = False, **body: Any) -> dict[str, Any]:
        response = self.desk.act(ticket_id, action, headers=self.desk.customer if as_customer else None, **body)
        assert response.status_code == 200, response.text
        self.settle()
        return response.json()

    def comment(self, ticket_id: str, body: str = "here you go", as_customer: bool = True) -> None:
        response = self.client.post(f"/v1/tickets/{ticket_id}/comments", json={"body": body},
                                    headers=self.desk.customer if as_customer else self.desk.agent)
        assert response.status_code == 201, response.text
        self.settle()

    def analyse(self, ticket_id: str, **plan: Any) -> dict[str, Any]:
        """Primary analysis (IMC-5: a responsible person and a plan, a date unless ``plan`` says), then accept."""
        self.triage(ticket_id, responsible_id="agent-1", **(plan or {"planned_date": "2026-12-31"}))
        return self.act(ticket_id, "accept")

    def triage(self, ticket_id: str, **fields: Any) -> None:
        response = self.client.patch(f"/v1/tickets/{ticket_id}", json=fields, headers=self.desk.agent)
        assert response.status_code == 200, response.text
        self.settle()

    # -- what happened ---------------------------------------------------------------------

    def ticket_facts(self, ticket_id: str) -> list[ev.TicketFact]:
        return [ev.decode(m.data).data for m in read_all(self.nats_url, f"helpdesk.ticket.{ticket_id}.>")]  # type: ignore[attr-defined]

    def status(self, ticket_id: str) -> str:
        return str(self.ticket_facts(ticket_id)[-1].status)

    def sla_facts(self, ticket_id: str = "*", wait_for: int = 0) -> list[sla.SlaFact]:
        """The ticket's SLA facts in stream order (waiting for at least ``wait_for`` of them)."""
        def read() -> list[sla.SlaFact]:
            return [sla.decode(m.data).data for m in read_all(self.nats_url, f"helpdesk.sla.{ticket_id}.>")]  # type: ignore[attr-defined]
        if wait_for:
            return wait_until(lambda: (facts := read()) if len(facts) >= wait_for else None, timeout=10)
        return read()

    def of(self, ticket_id: str, kind: type[sla.SlaFact]) -> list[Any]:
        return [f for f in self.sla_facts(ticket_id) if isinstance(f, kind)]


def set_shared_clock(nats_url: str, instant: dt.datetime) -> None:
    """Write the shared clock's KV key directly (only before the services start: time never moves back)."""
    async def put() -> None:
        nc = await nats.connect(nats_url)
        try:
            kv = await open_bucket(nc)
            await kv.put(NOW_KEY, instant.astimezone(dt.UTC).isoformat().encode())
        finally:
            await nc.close()
    asyncio.run(put())


def as_utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC)


def to_builtins(fact: Any) -> Any:
    return msgspec.to_builtins(fact)
