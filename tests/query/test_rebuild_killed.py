"""A rebuild SIGKILLed while it copies leaves query serving the old generation; the next one completes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import psycopg
import pytest

from tests.query.conftest import assert_matches, read_model_checksum
from tests.query.handmade import start_query
from tests.query.synthetic import histories, publish
from tests.support.processes import ADMIN_TOKEN

pytestmark = [pytest.mark.e2e]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _rebuild(services: Any, database_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "helpdesk_query", "rebuild", "--no-progress"],
                            env={**services._process_env(), "HELPDESK_DATABASE_URL": database_url},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_while_copying(rebuild: subprocess.Popen[bytes], database_url: str) -> None:
    """SIGKILL the rebuild once PostgreSQL is running one of its COPYs into the new generation."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and rebuild.poll() is None:
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                            " AND query LIKE 'COPY query\\_g2.%%'").fetchone()[0]:  # type: ignore[index]
                rebuild.send_signal(signal.SIGKILL)
                rebuild.wait(10)
                return
            time.sleep(0.002)
    raise AssertionError(f"the rebuild ended ({rebuild.poll()}) before it was seen copying:"
                         f" {rebuild.communicate()[0].decode()}")


def _first_tickets(url: str) -> Any:
    """The first tickets query lists, asked on a new connection: the kept-alive one may have been
    closed by the server while the rebuild ran (its idle timeout), racing the request sent on it."""
    return httpx.get(f"{url}/v1/tickets", params={"limit": 5}, headers=ADMIN, timeout=30).json()


async def test_perf_rebuild_killed_mid_copy_leaves_the_old_generation_serving_and_a_second_completes(
        services: Any, js: Any, database_url: str) -> None:
    events = list(histories(tickets=5000, events_per_ticket=4, customers=20, seed=41))
    await publish(js, events, window=5000)
    query = start_query(services)
    with httpx.Client(base_url=query.url, timeout=30) as client:
        deadline = time.monotonic() + 180
        while (seen := client.get("/v1/tickets", params={"limit": 5}, headers={
                **ADMIN, "Helpdesk-Min-Position": str(events[-1].sequence)})).status_code == 504:
            assert time.monotonic() < deadline, seen.text  # the projector still catching up
        assert seen.status_code == 200, seen.text
        live = await read_model_checksum(database_url)

        killed = _rebuild(services, database_url)
        _kill_while_copying(killed, database_url)
        assert killed.returncode == -signal.SIGKILL
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT active FROM query.generation").fetchone() == ("query_g1",)
        assert await read_model_checksum(database_url) == live
        assert _first_tickets(query.url) == seen.json()

        again = _rebuild(services, database_url)
        output = again.communicate(timeout=300)[0].decode()
        assert again.returncode == 0, output
        assert "rebuilt query_g2 (was query_g1)" in output
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT active FROM query.generation").fetchone() == ("query_g2",)
            assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'query\\_g%'"
                                ).fetchone() == (1,)
        assert await read_model_checksum(database_url) == live
        assert _first_tickets(query.url) == seen.json()
    await assert_matches(database_url, events)
