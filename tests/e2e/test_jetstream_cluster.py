"""Issue #14 item 2: the desk on a 3-node JetStream cluster loses nothing when the stream's leader dies.

What the ``production`` overlay runs, locally: three ``nats-server`` processes routed to
each other (each its own store), the five services as real processes with
``HELPDESK_STREAM_REPLICAS=3`` and ``HELPDESK_NATS_URL`` listing all three nodes. Under a
steady load of commands the node leading the ``HELPDESK`` stream is SIGKILLed; the
cluster elects another leader, the relay and the consumers carry on through it, and the
node comes back and catches up. Afterwards every acknowledged command is in the stream
once and in order, the read model shows every ticket, notify sent each opened ticket its
mail once, and no request was answered 5xx.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import nats
import pytest
from helpdesk_devstack import NatsCluster, SmtpCatcher

from helpdesk_shared import attachments, subjects
from tests.chaos import checks
from tests.chaos.load import Ack, Load
from tests.support.processes import Services
from tests.support.stack import DURABLE_CONSUMERS_AT_LEAST, relayed_head, start_stack, unsettled
from tests.support.stream import Replication, replication
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]
RATE = 15.0  # commands and mails a second
SECONDS_EACH = 4.0  # of load before the kill, with the node down, and after it is back
SETTLE_SECONDS = 45.0


def durable_peers(nats_url: str) -> dict[str, int]:
    """Each durable consumer of the stream, with the number of nodes holding it."""
    async def read() -> dict[str, int]:
        nc = await nats.connect(nats_url, allow_reconnect=False, connect_timeout=2)
        try:
            infos = await nc.jetstream().consumers_info(subjects.STREAM)
        finally:
            await nc.close()
        return {i.name: 1 + len(i.cluster.replicas or []) if i.cluster else 0
                for i in infos if i.config.durable_name}
    return asyncio.run(read())


def new_leader(url: str, old: str | None) -> Replication | None:
    """The stream's replication once a leader other than ``old`` leads it (None while it is elected)."""
    try:
        now = replication(url)
    except Exception:  # noqa: BLE001 - no leader yet to answer: the election is under way
        return None
    return now if now.leader not in (None, old) else None


def run_for(load: Load, seconds: float) -> None:
    """Until the load has had ``seconds`` more of acknowledged commands (at its pace)."""
    target = len(load.acks) + int(RATE * seconds * 0.8)
    wait_until(lambda: len(load.acks) >= target, timeout=seconds * 5, interval=0.2)


def tickets_in_read_model(query_url: str, headers: dict[str, str], position: int) -> set[str]:
    """Every ticket the query service lists, once it has applied ``position``."""
    seen: set[str] = set()
    cursor: str | None = None
    with httpx.Client(base_url=query_url, timeout=30) as client:
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/tickets", params=params,
                              headers={**headers, "Helpdesk-Min-Position": str(position)})
            assert page.status_code == 200, page.text
            seen |= {item["id"] for item in page.json()["items"]}
            if not (cursor := page.json()["next_cursor"]):
                return seen


def settle(url: str, database_url: str, acks: list[Ack]) -> list[object]:
    """Until the relay published the last acknowledged command and every consumer took it all in."""
    deadline = time.monotonic() + SETTLE_SECONDS
    newest = max(a.position for a in acks)
    try:
        wait_until(lambda: relayed_head(url) >= newest and not unsettled(url), timeout=SETTLE_SECONDS,
                   interval=0.5)
    except TimeoutError:
        return [f"relayed up to {relayed_head(url)} of {newest}", *unsettled(url)]
    checks.wait_mail_settled(database_url, max(1.0, deadline - time.monotonic()))
    return []


def test_platform_jetstream_cluster_loses_nothing_when_the_stream_leader_is_killed_under_load(
        nats_cluster: NatsCluster, whole_cluster: Services, database_url: str, smtp_catcher: SmtpCatcher) -> None:
    started = time.monotonic()
    stack = start_stack(whole_cluster, nats_cluster.url, database_url)
    first = nats_cluster.nodes[0].url
    before = wait_until(lambda: (r := replication(first)).current == 3 and r, timeout=30)
    assert before.replicas == 3, before
    assert replication(first, f"OBJ_{attachments.BUCKET}").replicas == 3
    durables = wait_until(lambda: (d := durable_peers(first)) and len(d) >= DURABLE_CONSUMERS_AT_LEAST and d,
                          timeout=30)
    assert set(durables.values()) == {3}, f"durable consumers not on three nodes: {durables}"

    load = Load(stack.desk, stack.urls["intake"], RATE).start()
    run_for(load, SECONDS_EACH)
    victim = nats_cluster.node(before.leader or "")
    victim.kill()
    killed_at = len(load.acks)
    survivor = next(node.url for node in nats_cluster.nodes if node is not victim)
    after = wait_until(lambda: new_leader(survivor, before.leader), timeout=30, interval=0.2)
    run_for(load, SECONDS_EACH)
    victim.start()
    nats_cluster.wait_healthy(30)
    run_for(load, SECONDS_EACH)
    load.stop()
    behind = settle(survivor, database_url, load.acks)

    lost = checks.lost_commands(database_url, load.acks)
    stream = checks.stream_figures(survivor, load.acks)
    opened = {a.ticket_id for a in load.acks if a.kind in ("open", "mail") and a.ticket_id}
    listed = tickets_in_read_model(stack.urls["query"], stack.desk.agent, max(a.position for a in load.acks))
    mail = checks.mail_figures(database_url, smtp_catcher, load.acks)
    server_errors = {s: n for s, n in sorted(load.statuses.items()) if s >= 500}
    retries = {name: p.log_path.read_text(errors="replace").count("starting over")
               for name, p in stack.processes.items()}
    print(f"\njetstream cluster: leader {before.leader} killed after {killed_at} commands, "
          f"{after.leader} took over; {load.sent} requests, {len(load.acks)} acknowledged, unanswered "
          f"{dict(load.unanswered)}, statuses {dict(sorted(load.statuses.items()))}; stream "
          f"{stream.messages} messages, lost {len(stream.missing)}, duplicated {len(stream.duplicated)}, "
          f"out of order {len(stream.out_of_order)}; store lost {len(lost)}; tickets {len(opened)}, "
          f"missing from the read model {len(opened - listed)}; mails {mail.received}, lost "
          f"{len(mail.lost)}, duplicated {len(mail.duplicated)}; 5xx {server_errors}; behind {behind}; "
          f"turns started over (NATS failures waited out) {retries}; "
          f"{time.monotonic() - started:.0f} s")

    assert killed_at >= 20 and len(load.acks) >= killed_at + 30, "too little load to prove anything"
    assert not behind, f"not settled after the failover: {behind}"
    assert not lost, f"acknowledged commands missing from the store: {lost[:10]}"
    assert not stream.missing, f"acknowledged, never published: {stream.missing[:10]}"
    assert not stream.duplicated and not stream.out_of_order, stream
    assert not opened - listed, f"tickets missing from the read model: {sorted(opened - listed)[:10]}"
    assert not mail.lost and not mail.unsent and not mail.duplicated, mail
    assert not server_errors and not load.unanswered, (server_errors, load.unanswered, load.server_errors)
    wait_until(lambda: replication(survivor).current == 3, timeout=20, message="the restarted node never caught up")
