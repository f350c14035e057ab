"""``GET /v1/stream``, ``allowed_actions`` and the backlog report against intake, its relay and query as real processes.

Server-sent events read with a real HTTP client: live delivery within a second, the same
isolation as every read, resume with ``Last-Event-ID``, the stream cap, keep-alives and
a clean shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import nats
import pytest

from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from tests.query.desk import Caller, Desk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
MAX_STREAMS = 4


class Sse:
    """One open event stream, read by a thread into a queue of ``(event, id, data, arrived)``."""

    def __init__(self, url: str, caller: Caller, last_event_id: int | str | None = None, **params: str) -> None:
        headers = {**caller.auth, **({"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {})}
        self.client = httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=60))
        self.response = self.client.send(self.client.build_request("GET", "/v1/stream", headers=headers,
                                                                    params=params), stream=True)
        if self.response.status_code != 200:
            self.close()
            raise AssertionError(f"stream refused: {self.response.status_code}")
        self.events: queue.Queue[tuple[str, int, dict[str, Any], float] | None] = queue.Queue()
        self.comments: list[str] = []
        self.last_id = ""  # the raw id of the newest event: ``<position>:<sequence>``
        self.opened, self.ended = threading.Event(), threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.opened.wait(5), "the stream sent nothing"

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines():
                self.opened.set()
                if line.startswith(":"):
                    self.comments.append(line)
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif "data" in fields:
                    self.last_id = fields.get("id", self.last_id)
                    self.events.put((fields.get("event", "message"), int(self.last_id.partition(":")[0] or 0),
                                     json.loads(fields["data"]), time.monotonic()))
                    fields = {}
        except httpx.HTTPError:
            pass
        self.events.put(None)
        self.ended.set()

    def next(self, timeout: float = 5) -> tuple[str, int, dict[str, Any], float]:
        found = self.events.get(timeout=timeout)
        assert found is not None, "the stream ended"
        return found

    def until(self, ticket_id: str, kind: str, timeout: float = 5) -> tuple[str, int, dict[str, Any], float]:
        """The next change of ``kind`` to ``ticket_id``, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if event[2]["ticket_id"] == ticket_id and event[2]["type"].endswith(kind):
                return event

    def drain(self) -> list[dict[str, Any]]:
        found = []
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return found
            if event is not None:
                found.append(event[2])

    def close(self) -> None:
        """Hang up now: shut the socket down first, which wakes the reader thread blocked on it and sends the
        FIN. A bare close leaves that thread's read holding the connection open (the fd closed under a poll in
        progress), so the server kept the stream, and its slot, until that read happened to end (~5 s)."""
        stream = self.response.extensions.get("network_stream")
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.client.close()


@pytest.fixture
def stack(services: Any) -> Iterator[tuple[Desk, Any]]:
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    query = services.start("query", "serve", env={"HELPDESK_STREAM_MAX": str(MAX_STREAMS),
                                                  "HELPDESK_STREAM_KEEPALIVE_SECONDS": "0.5"})
    desk = Desk(intake.url, query.url)
    try:
        yield desk, query
    finally:
        desk.close()


def _opened(make: Any, timeout: float = 2.0) -> Sse:
    """A stream opened once the cap lets it: a closed one is let go as the server learns of the hang-up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return make()
        except AssertionError as refused:
            if "503" not in str(refused) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_stream_live_isolated_resumable_capped_and_closed_cleanly(stack: tuple[Desk, Any]) -> None:
    desk, query = stack
    acme, globex, agent = desk.customer("acme"), desk.customer("globex"), desk.staff("agent")
    staff_sse, acme_sse, globex_sse = (Sse(query.url, c) for c in (agent, acme, globex))

    # live: a command's change arrives within a second, to those who may see the ticket
    opened, _ = desk.command(acme, "POST", "/v1/tickets", {"subject": "VPN", "description": "down"})
    sent = time.monotonic()
    tid = opened["id"]
    _, first_id, change, arrived = acme_sse.until(tid, "opened")
    print(f"\nstream: a command's change reached the customer's stream {1000 * (arrived - sent):.0f} ms after "
          "the command answered")
    assert arrived - sent < 1.0 and change["position"] == first_id
    staff_sse.until(tid, "opened")
    desk.command(agent, "POST", f"/v1/tickets/{tid}/comments", {"body": "vendor bug", "visibility": "internal"})
    staff_sse.until(tid, "comment_added")
    other, _ = desk.command(globex, "POST", "/v1/tickets", {"subject": "Mail", "description": "slow"})
    assert globex_sse.next()[2]["ticket_id"] == other["id"]  # its own, and none of acme's before it
    assert [c["ticket_id"] for c in acme_sse.drain()] == []  # the internal comment never reaches acme
    wait_until(lambda: ": keep-alive" in acme_sse.comments, timeout=3)

    # the cap: four open streams (one follows a single ticket), a fifth is refused with a problem document
    one_ticket = Sse(query.url, agent, ticket_id=other["id"])
    refused = httpx.get(f"{query.url}/v1/stream", headers=agent.auth)
    assert refused.status_code == 503 and refused.json()["code"] == "not_ready"
    assert refused.headers["Retry-After"] == "5"

    # resume: acme reconnects after missing two changes and gets them (never the internal one), then live
    acme_sse.close()
    desk.command(agent, "POST", f"/v1/tickets/{tid}/actions/accept")
    desk.command(agent, "POST", f"/v1/tickets/{tid}/comments", {"body": "internal 2", "visibility": "internal"})
    desk.command(agent, "POST", f"/v1/tickets/{tid}/comments", {"body": "we are on it"})
    staff_sse.until(tid, "comment_added")
    staff_sse.until(tid, "comment_added")
    one_ticket.close()  # a closed stream frees its slot promptly (on the client's FIN), not seconds later
    resumed = wait_until(lambda: _open(query.url, acme, first_id), timeout=2)
    replayed = [resumed.next()[2]["type"].rsplit(".", 1)[-1] for _ in range(2)]
    assert replayed == ["accepted", "comment_added"]
    _, position = desk.command(agent, "POST", f"/v1/tickets/{tid}/actions/propose_solution")
    assert resumed.until(tid, "solution_proposed")[1] == position

    # allowed_actions: what each caller may do now, from the one workflow table
    assert desk.read(acme, f"/v1/tickets/{tid}", position).json()["allowed_actions"] == [
        "accept_solution", "return_to_work", "reject"]
    assert desk.read(agent, f"/v1/tickets/{tid}").json()["allowed_actions"] == ["reject"]

    # the backlog report: a customer's employee counts its own customer's open tickets, staff everyone's
    mine = desk.read(acme, "/v1/reports/backlog", position, customer_id=globex.customer_id).json()
    assert (mine["customer_id"], mine["total"]) == (acme.customer_id, 1)
    assert {"status": "customer_testing", "age_band": "<1d", "count": 1} in mine["items"]
    assert desk.read(agent, "/v1/reports/backlog").json()["total"] == 2
    table = desk.query.get("/v1/reports/backlog", headers={**agent.auth, "Accept": "text/csv"})
    assert table.headers["content-type"].startswith("text/csv")
    assert {"status,age_band,count", "new,<1d,1", "customer_testing,<1d,1"} <= set(table.text.splitlines())

    # SLA facts (the SLA projection's changes) reach whoever may see the ticket, never another customer
    before = resumed.last_id
    _publish_sla(query.env["HELPDESK_NATS_URL"], [(tid, acme.customer_id), (other["id"], globex.customer_id)])
    for sse, ticket in ((staff_sse, tid), (staff_sse, other["id"]), (resumed, tid), (globex_sse, other["id"])):
        event, _, fact, _ = sse.until(ticket, "target_set")
        assert (event, fact["kind"]) == ("sla", "resolution")
    assert tid not in {c["ticket_id"] for c in globex_sse.drain()}
    # …and resume with the two cursors of ``Last-Event-ID``: the fact missed is replayed, only acme's
    again = _opened(lambda: Sse(query.url, acme, before))
    event, _, fact, _ = again.next()
    assert (event, fact["ticket_id"], fact["type"]) == ("sla", tid, "helpdesk.sla.target_set")
    assert again.last_id == f"{before.partition(':')[0]}:{fact['sequence']}" and again.drain() == []
    again.close()

    # bad input: a problem document, never a stream
    bad = httpx.get(f"{query.url}/v1/stream", headers={**agent.auth, "Last-Event-ID": "not-a-position"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"

    # clean shutdown: the open streams end at once and the process exits without waiting them out
    started = time.monotonic()
    assert query.terminate(timeout=8) in (0, -15)  # exited on SIGTERM, not killed after the timeout
    assert time.monotonic() - started < 5
    for sse in (staff_sse, globex_sse, resumed):
        assert sse.ended.wait(2), "a stream outlived the shutdown"
        sse.close()


def _publish_sla(nats_url: str, tickets: list[tuple[str, str]]) -> None:
    """A resolution target set on each ``(ticket, customer)``, published as the SLA service does."""
    async def publish() -> None:
        nc = await nats.connect(nats_url)
        at = dt.datetime.now(dt.UTC)
        for n, (ticket_id, customer_id) in enumerate(tickets, 1):
            fact = sla.TargetSet(ticket_id=ticket_id, customer_id=customer_id, policy="medis", ticket_version=1,
                                 occurred_at=at, kind="resolution", due_at=at + dt.timedelta(days=1), started_at=at)
            event = sla.wrap(fact, event_id=f"stream-sla-{ticket_id}", sequence=n)
            await nc.jetstream().publish(subjects.sla_subject(ticket_id, sla.event_type(fact)),
                                         msgspec.json.encode(event), headers={"Nats-Msg-Id": event.id})
        await nc.close()
    asyncio.run(publish())


def _open(url: str, caller: Caller, last_event_id: int) -> Sse | None:
    """A resumed stream, once the replica has room for it."""
    try:
        return Sse(url, caller, last_event_id)
    except AssertionError:
        return None
