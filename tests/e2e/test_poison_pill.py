"""Issue #15, item 1 in depth: no stored event, however odd, stops a consumer.

query, sla and notify run as real processes on one stream. The test writes events
straight onto the stream, as the relay would have relayed them from the store:
some carry U+0000 (in a comment, in a customer id), one a lone surrogate. Each
consumer parks exactly the events it cannot apply and the later events of the same
ticket, in order, and keeps applying every other ticket; parked events are counted,
listed for admins, and replayed in order once fixed. A database outage is retried,
never parked; ``/readyz`` answers 503 while a consumer with work is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import nats
import psycopg
import pytest
from helpdesk_devstack import SmtpCatcher, free_port

from helpdesk_shared import events as ev
from helpdesk_shared import subjects
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream
from helpdesk_shared.vocabulary import Channel, Role, Status

from tests.conftest import SERVICES_KEY
from tests.query.handmade import token
from tests.support import servers
from tests.support.processes import ADMIN_TOKEN, ServiceProcess, Services, base_env
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CUSTOMER = "customer-acme"
SURROGATE = "@@lone-surrogate@@"  # replaced by the JSON escape \ud800 in the payload
_positions = itertools.count(1)


class Ticket:
    """One ticket's facts, numbered as intake's store numbers them (now: no SLA timer falls due)."""

    def __init__(self, customer_id: str = CUSTOMER) -> None:
        self.id, self.customer_id, self.version = uuid.uuid4().hex, customer_id, 0

    def fact(self, kind: type[ev.TicketFact], role: Role = Role.AGENT, **fields: Any) -> ev.CloudEvent:
        self.version += 1
        position = next(_positions)
        who = "user-requester" if role is Role.CUSTOMER else "user-agent"
        fact = kind(ticket_id=self.id, customer_id=self.customer_id, version=self.version, status=Status.NEW,
                    actor=ev.Actor(who, role), occurred_at=dt.datetime.now(dt.UTC), **fields)
        return ev.wrap(fact, event_id=f"evt-{position}", sequence=position, number="HD-1")

    def opened(self) -> ev.CloudEvent:
        return self.fact(ev.TicketOpened, Role.CUSTOMER, number=f"HD-{self.id[:6]}", subject="Принтер",
                         description="не печатает", channel=Channel.EMAIL, requester_id="user-requester",
                         policy="keysystems")

    def comment(self, body: str) -> ev.CloudEvent:
        return self.fact(ev.CommentAdded, comment_id=uuid.uuid4().hex, body=body)


@dataclass
class Desk:
    services: Services
    nats_url: str
    database_url: str
    query: ServiceProcess
    sla: ServiceProcess
    notify: ServiceProcess
    tickets: dict[str, Ticket] = field(default_factory=dict)
    seqs: dict[str, list[int]] = field(default_factory=dict)  # stream sequences of each ticket's events

    def publish(self, *events: ev.CloudEvent) -> None:
        """Write events onto the stream as the relay writes stored events (a lone surrogate kept as is)."""
        async def send() -> None:
            nc = await nats.connect(self.nats_url)
            try:
                js = nc.jetstream()
                await ensure_stream(js)
                for event in events:
                    fact = event.data
                    payload = msgspec.json.encode(event).replace(SURROGATE.encode(), b"\\ud800")
                    ack = await js.publish(subjects.ticket_subject(fact.ticket_id, ev.event_type(fact)), payload,
                                           headers={"Nats-Msg-Id": event.id, POSITION_HEADER: str(event.sequence)})
                    self.seqs.setdefault(fact.ticket_id, []).append(ack.seq)
            finally:
                await nc.close()
        asyncio.run(send())

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, args or None).fetchall()

    def parked(self, table: str, family: str = "ticket") -> list[int]:
        return [r[0] for r in self.sql(f"SELECT stream_seq FROM {table} WHERE subject LIKE %s ORDER BY 1",
                                       f"helpdesk.{family}.%")]

    def seq(self, name: str, *which: int) -> list[int]:
        return [self.seqs[self.tickets[name].id][i] for i in which]


def metric(service: ServiceProcess, name: str) -> float:
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name} ")]
    return values[0] if values else 0.0


@pytest.fixture(scope="module")
def desk(postgres_server: servers.PostgresServer, tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("poison")
    with servers.fresh_database(postgres_server) as database_url, contextlib.ExitStack() as stack:
        if servers.use_docker():
            nats_url = request.getfixturevalue("nats_server").url
            servers.purge_jetstream(nats_url)
        else:
            nats_url = stack.enter_context(servers.nats_server(tmp)).url
        smtp = stack.enter_context(SmtpCatcher(tmp / "mail", free_port()))
        env = {**base_env(database_url, nats_url, smtp.url, tmp / "data"), "HELPDESK_CONSUMER_STUCK_SECONDS": "2"}
        factory = Services(env, tmp)
        try:
            keys = factory.start("intake", "serve")  # publishes the token keys; sla's commands go nowhere
            elsewhere = {"HELPDESK_INTAKE_URL": f"http://127.0.0.1:{free_port()}",
                         "HELPDESK_JWKS_URL": f"{keys.url}/v1/auth/jwks"}
            started = [factory.start(name, "serve", env=elsewhere) for name in ("query", "sla", "notify")]
            yield Desk(factory, nats_url, database_url, *started)
        finally:
            factory.stop_all()


@pytest.fixture(autouse=True)
def _logs_on_failure(desk: Desk, request: pytest.FixtureRequest) -> None:
    request.node.stash[SERVICES_KEY] = desk.services


@pytest.fixture(scope="module")
def poisoned(desk: Desk) -> Desk:
    """Four tickets: A gets a comment with U+0000, C a customer id with U+0000, D a lone surrogate; B is clean."""
    a, b, c, d = desk.tickets["A"], desk.tickets["B"], desk.tickets["C"], desk.tickets["D"] = (
        Ticket(), Ticket(), Ticket(customer_id="acme\x00"), Ticket())
    desk.publish(a.opened(), b.opened(), c.opened(), d.opened(),
                 a.comment("before\x00after"), b.comment("first"), d.comment(f"odd {SURROGATE} text"),
                 c.comment("behind C"), a.comment("behind A"), d.comment("behind D"), b.comment("second"))
    last_b = desk.seq("B", 2)[0]
    for table in ("query.tracking", "sla.tracking", "notify.tracking"):
        wait_until(lambda t=table: desk.sql(f"SELECT stream_seq FROM {t}")[0][0] >= last_b, timeout=30,
                   message=f"{table} passed B's last event")
    return desk


def test_hardening_poison_pill_each_consumer_parks_the_bad_event_and_its_tickets_later_events(
        poisoned: Desk) -> None:
    desk = poisoned
    a, c, d = desk.seq("A", 1, 2), desk.seq("C", 0, 1), desk.seq("D", 1, 2)
    wanted = sorted([*a, *c, *d])
    assert desk.parked("query.parked") == wanted
    assert desk.parked("notify.parked") == wanted
    assert desk.parked("sla.parked") == sorted([*c, *d])  # the SLA keeps no text of a comment: A is fine
    reasons = dict(desk.sql("SELECT stream_seq, reason FROM query.parked"))
    assert "NUL" in reasons[a[0]] and reasons[d[0]].startswith("undecodable")
    assert reasons[a[1]] == f"held back: stream message {a[0]} of {desk.tickets['A'].id} is parked"
    # every other ticket's events flow on: B is whole everywhere, the held tickets stop at their gap
    versions = dict(desk.sql("SELECT id, version FROM query.tickets"))
    assert {t: versions.get(desk.tickets[t].id) for t in "ABCD"} == {"A": 1, "B": 3, "C": None, "D": 1}
    sla_versions = dict(desk.sql("SELECT ticket_id, version FROM sla.tickets"))
    assert {t: sla_versions.get(desk.tickets[t].id) for t in "ABCD"} == {"A": 3, "B": 3, "C": None, "D": 1}
    notify_positions = dict(desk.sql("SELECT ticket_id, position FROM notify.tickets"))
    assert notify_positions[desk.tickets["B"].id] == 11 and notify_positions[desk.tickets["A"].id] == 1
    # notify parks the SLA's facts about a held ticket behind it too; never another ticket's
    held = {desk.tickets[t].id for t in "ACD"}
    assert {r[0] for r in desk.sql("SELECT aggregate FROM notify.parked")} <= held
    for service in (desk.query, desk.sla, desk.notify):
        assert httpx.get(f"{service.url}/readyz", timeout=5).status_code == 200


def test_hardening_poison_pill_parked_events_are_counted_and_listed_for_admins(poisoned: Desk) -> None:
    desk = poisoned
    for service, prefix, table in ((desk.query, "helpdesk_query", "query.parked"),
                                   (desk.sla, "helpdesk_sla", "sla.parked"),
                                   (desk.notify, "helpdesk_notify", "notify.parked")):
        count = len(desk.sql(f"SELECT 1 FROM {table}"))
        assert metric(service, f"{prefix}_events_parked_total") >= count > 0
        wait_until(lambda s=service, p=prefix, n=count: metric(s, f"{p}_parked_events") == n, timeout=10)
        listed = httpx.get(f"{service.url}/v1/admin/parked", headers=ADMIN, timeout=10)
        assert listed.status_code == 200, listed.text
        items = [i for i in listed.json()["items"] if i["subject"].startswith("helpdesk.ticket.")]
        assert [i["stream_seq"] for i in items] == desk.parked(table)
        assert {"subject", "stream_seq", "position", "aggregate", "reason", "parked_at"} <= set(items[0])
        forbidden = httpx.get(f"{service.url}/v1/admin/parked", headers=token("u-agent", Role.AGENT), timeout=10)
        assert forbidden.status_code == 403
    a = desk.tickets["A"].id
    as_admin = httpx.get(f"{desk.query.url}/v1/tickets/{a}", headers=ADMIN, timeout=10).json()
    as_customer = httpx.get(f"{desk.query.url}/v1/tickets/{a}", timeout=10,
                            headers=token("user-requester", Role.CUSTOMER, CUSTOMER)).json()
    assert as_admin["held_back"] is True and "held_back" not in as_customer
    b = desk.tickets["B"].id
    assert "held_back" not in httpx.get(f"{desk.query.url}/v1/tickets/{b}", headers=ADMIN, timeout=10).json()


def test_hardening_poison_pill_a_stuck_consumer_is_not_ready_and_a_database_outage_is_retried_not_parked(
        poisoned: Desk) -> None:
    desk = poisoned
    parked_before = {t: desk.parked(t, "%") for t in ("query.parked", "sla.parked", "notify.parked")}
    b = desk.tickets["B"]
    with psycopg.connect(desk.database_url) as blocker:
        generation = blocker.execute("SELECT active FROM query.generation").fetchone()[0]
        blocker.execute(f"SELECT 1 FROM {generation}.tracking, sla.tracking, notify.tracking FOR UPDATE")
        desk.publish(b.comment("while the database is locked"))
        for service in (desk.query, desk.sla, desk.notify):
            wait_until(lambda s=service: httpx.get(f"{s.url}/readyz", timeout=5).status_code == 503, timeout=20,
                       message=f"{service.name} reported stuck")
            checks = httpx.get(f"{service.url}/readyz", timeout=5).json()["checks"]
            assert checks["consumer"] is False and checks["database"] is True
        # the consumers' connections are lost (an outage): a passing failure, nothing is parked
        killed = desk.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND wait_event_type = 'Lock'")
        assert len(killed) >= 3
        blocker.rollback()
    last = desk.seqs[b.id][-1]
    for table in ("query.tracking", "sla.tracking", "notify.tracking"):
        wait_until(lambda t=table: desk.sql(f"SELECT stream_seq FROM {t}")[0][0] >= last, timeout=30,
                   message=f"{table} applied B's comment after the outage")
    assert dict(desk.sql("SELECT id, version FROM query.tickets"))[b.id] == 4
    assert {t: desk.parked(t, "%") for t in parked_before} == parked_before
    for service in (desk.query, desk.sla, desk.notify):
        wait_until(lambda s=service: httpx.get(f"{s.url}/readyz", timeout=5).status_code == 200, timeout=20)


def test_hardening_poison_pill_retry_after_the_fix_applies_the_parked_events_in_order(poisoned: Desk) -> None:
    desk = poisoned
    for table in ("query.parked", "sla.parked", "notify.parked"):  # the operator's fix: clean the payloads
        for seq, payload in desk.sql(f"SELECT stream_seq, payload FROM {table}"):
            fixed = bytes(payload).replace(b"\\u0000", b"").replace(b"\\ud800", b"")
            desk.sql(f"UPDATE {table} SET payload = %s WHERE stream_seq = %s RETURNING 1", fixed, seq)
    for service, table in ((desk.query, "query.parked"), (desk.sla, "sla.parked"), (desk.notify, "notify.parked")):
        parked = desk.parked(table, "%")
        retried = httpx.post(f"{service.url}/v1/admin/parked/retry", headers=ADMIN, timeout=30)
        assert retried.status_code == 200, retried.text
        body = retried.json()
        assert [i["stream_seq"] for i in body["applied"]] == parked and body["remaining"] == []
        assert desk.parked(table, "%") == []
    ids = {t: desk.tickets[t].id for t in "ACD"}
    versions = dict(desk.sql("SELECT id, version FROM query.tickets"))
    assert {t: versions[i] for t, i in ids.items()} == {"A": 3, "C": 2, "D": 3}
    bodies = [r[0] for r in desk.sql("SELECT body FROM query.comments WHERE ticket_id = %s ORDER BY position",
                                     ids["A"])]
    assert bodies == ["beforeafter", "behind A"]
    sla_versions = dict(desk.sql("SELECT ticket_id, version FROM sla.tickets"))
    assert {t: sla_versions[i] for t, i in ids.items()} == {"A": 3, "C": 2, "D": 3}
    mails = desk.sql("SELECT context->>'body' FROM notify.outbox WHERE ticket_id = %s"
                     " AND template = 'comment_added' ORDER BY position", ids["A"])
    assert [m[0] for m in mails] == ["beforeafter", "behind A"]
    as_admin = httpx.get(f"{desk.query.url}/v1/tickets/{ids['A']}", headers=ADMIN, timeout=10).json()
    assert "held_back" not in as_admin
    wait_until(lambda: metric(desk.query, "helpdesk_query_parked_events") == 0, timeout=10)
