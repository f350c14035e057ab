"""Deployments start every process at once: on an empty database they must all come up."""

from __future__ import annotations

import time

import httpx


def test_intake_processes_started_together_on_an_empty_database_all_come_up(services, database_url) -> None:
    replicas = [services.start("intake", "serve", wait_ready=False) for _ in range(3)]
    relay = services.start("intake", "relay")
    for replica in replicas:
        replica.wait_ready()
    time.sleep(1.0)  # the relay has no port: it must simply still be running
    assert relay.running(), relay.log_tail()
    for replica in replicas:
        assert httpx.get(f"{replica.url}/readyz", timeout=5).status_code == 200
