"""Deployments start every process at once: on a freshly migrated database they must all come up."""

from __future__ import annotations

import httpx

from tests.support.waiting import wait_until


def test_intake_processes_started_together_on_a_fresh_database_all_come_up(services, database_url) -> None:
    replicas = [services.start("intake", "serve", wait_ready=False) for _ in range(3)]
    relay = services.start("intake", "relay")
    for replica in replicas:
        replica.wait_ready()
    # the relay has no port: it is up once it says where it relays from, and still running
    wait_until(lambda: "relaying from position" in relay.log_tail() or not relay.running(), timeout=30)
    assert relay.running(), relay.log_tail()
    for replica in replicas:
        assert httpx.get(f"{replica.url}/readyz", timeout=5).status_code == 200
