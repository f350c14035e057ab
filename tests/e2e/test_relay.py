"""The relay, as a real process: every stored ticket event reaches the stream once, in order."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from tests.support.desk import KS7, Desk, provision
from tests.support.stream import message_count, read_all
from tests.support.waiting import wait_until


def _ticket_events(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT originator_id, originator_version FROM intake.intake_events"
                            " WHERE topic LIKE 'helpdesk:Ticket.%%' ORDER BY notification_id").fetchall()
    return [f"{ticket_id}.{version}" for ticket_id, version in rows]


def _work(desk: Desk, tickets: int) -> None:
    """Open, accept and comment on tickets from 8 threads: three events per ticket."""
    def one(_: int) -> None:
        with httpx.Client(base_url=str(desk.client.base_url), timeout=30) as client:
            opened = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7}, headers=desk.customer)
            ticket_id = opened.json()["id"]
            client.post(f"/v1/tickets/{ticket_id}/actions/accept", headers=desk.agent).raise_for_status()
            client.post(f"/v1/tickets/{ticket_id}/comments", json={"body": "on it"},
                        headers=desk.agent).raise_for_status()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(tickets)))


def test_card9_relay_killed_mid_stream_publishes_every_event_exactly_once_in_order(services, database_url, nats_url):
    intake = services.start("intake", "serve")
    relay = services.start("intake", "relay")
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk = provision(client)
        load = threading.Thread(target=_work, args=(desk, 400))
        load.start()
        for threshold in (100, 400, 800):  # SIGKILL the relay three times while events keep coming
            wait_until(lambda: message_count(nats_url) >= threshold, timeout=60)
            relay.kill()
            relay.start(wait_ready=False)
        load.join()
    stored = _ticket_events(database_url)
    assert len(stored) == 1200
    wait_until(lambda: len(read_all(nats_url)) >= len(stored), timeout=60)
    messages = read_all(nats_url)
    positions = [int(m.headers["Helpdesk-Position"]) for m in messages]
    assert positions == sorted(set(positions)), "positions must be strictly increasing"
    assert [m.headers["Nats-Msg-Id"] for m in messages] == stored, "exactly the store's ticket events, in order"


def test_a_second_relay_stands_by_while_the_first_holds_the_lock(services, database_url, nats_url):
    intake = services.start("intake", "serve")
    first = services.start("intake", "relay")
    second = services.start("intake", "relay")
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk = provision(client)
        _work(desk, 30)
        wait_until(lambda: message_count(nats_url) >= 90, timeout=30)
        first.terminate()
        _work(desk, 10)
    # every committed ticket event, not a count: the stream also holds the directory's facts
    wait_until(lambda: [m.headers["Nats-Msg-Id"] for m in read_all(nats_url)] == _ticket_events(database_url),
               timeout=30)
    assert second.running()


def test_relay_publishes_customers_and_users_without_secrets_and_resumes_across_families(
        services, database_url, nats_url):
    intake = services.start("intake", "serve")
    relay = services.start("intake", "relay")
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk = provision(client)
        desk.open()
        wait_until(lambda: len(read_all(nats_url, "helpdesk.ticket.>")) == 1, timeout=30)
        relay.kill()  # the last relayed message is a ticket's; customer and user events follow it
        changed = client.patch(f"/v1/customers/{desk.customer_id}", json={"policy": "imc"}, headers=desk.admin)
        assert changed.status_code == 200, changed.text
        relay.start()
    with psycopg.connect(database_url) as conn:
        stored = [f"{i}.{v}" for i, v in conn.execute(
            "SELECT originator_id, originator_version FROM intake.intake_events"
            " WHERE topic ~ '^helpdesk:(Ticket|Customer|User)\\.|^helpdesk:Policy\\.Published$'"  # the imported presets
            " ORDER BY notification_id").fetchall()]
    wait_until(lambda: len(read_all(nats_url, ">")) >= len(stored), timeout=30)
    messages = read_all(nats_url, ">")
    assert [m.headers["Nats-Msg-Id"] for m in messages] == stored, "every public event once, in store order"
    families = [m.subject.split(".")[1] for m in messages]
    assert {"customer", "user", "ticket"} <= set(families)
    [change] = [m for m in messages if m.subject.endswith(".policy_changed")]
    assert change.subject == f"helpdesk.customer.{desk.customer_id}.policy_changed"
    users = [m for m in messages if m.subject.startswith("helpdesk.user.")]
    assert users and not any(b"password" in m.data or b"scrypt" in m.data for m in users)


def test_intake_cpu_relay_not_exporting_spans_passes_the_commands_trace_context_on_as_it_is(
        services, database_url, nats_url):
    """No span per publish when spans go nowhere (issue 16): the message carries the command's own traceparent."""
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk = provision(client)
        opened = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7},
                             headers={**desk.customer, "traceparent": caller})
        assert opened.status_code == 201, opened.text
    with psycopg.connect(database_url) as conn:
        [state] = conn.execute("SELECT state FROM intake.intake_events WHERE originator_id = %s"
                               " AND originator_version = 1", (opened.json()["id"],)).fetchone()
    stored = json.loads(bytes(state))["traceparent"]
    assert stored.split("-")[1] == caller.split("-")[1], "the command continued the caller's trace"
    ticket = f"helpdesk.ticket.{opened.json()['id']}.>"
    wait_until(lambda: len(read_all(nats_url, ticket)) >= 1, timeout=30)
    assert read_all(nats_url, ticket)[0].headers["traceparent"] == stored
