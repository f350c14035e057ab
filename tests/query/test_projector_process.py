"""The production shape (issue #16): ``helpdesk-query serve`` with HELPDESK_RUN_PROJECTOR=false
beside ``helpdesk-query project``, both real processes.

The projector process applies ticket facts and SLA facts alike (it ran only the ticket
projector, so the SLA blocks went unprojected), serve hears its commits through NOTIFY
(read-your-writes across processes), and it answers /readyz and /metrics for its probes and
the image's HEALTHCHECK (which took it for healthy while it merely ran).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from typing import Any

import httpx
import nats
from helpdesk_devstack import free_port

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Role

from tests.query.conftest import sql
from tests.query.handmade import Story, publish_story, start_query
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import wait_until

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AGENT = ev.Actor(id="agent-7", role=Role.AGENT)


def _story() -> Story:
    story = Story()
    story.accepted_in_time("t1", "acme", T0, ev.Actor(id="u1", role=Role.CUSTOMER), AGENT)
    return story


async def _publish(nats_url: str, story: Story) -> None:
    client = await nats.connect(nats_url)
    try:
        await publish_story(client.jetstream(), story)
    finally:
        await client.close()


def test_projproc_own_projector_process_projects_tickets_and_sla_and_serve_reads_its_writes(
        services: Any, database_url: str, nats_url: str) -> None:
    query = start_query(services, env={"HELPDESK_RUN_PROJECTOR": "false"})
    metrics = f"http://127.0.0.1:{free_port()}"
    projector = services.start("query", "project", env={"HELPDESK_PROJECTOR_METRICS_PORT": metrics.rsplit(":", 1)[1]})
    wait_until(lambda: _answers(f"{metrics}/readyz") == 200, timeout=60)
    assert _image_healthcheck(projector.pid) == 0
    story = _story()
    asyncio.run(_publish(nats_url, story))
    read = httpx.get(f"{query.url}/v1/tickets/t1", timeout=30,
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Helpdesk-Min-Position": str(story.position)})
    assert read.status_code == 200 and read.json()["status"] == "in_progress", read.text
    wait_until(lambda: asyncio.run(sql(database_url, "SELECT stream_seq FROM query.sla_tracking"))[0][0] > 0,
               timeout=30, message="the SLA fact was never projected")
    assert asyncio.run(sql(database_url, "SELECT count(*) FROM query.sla WHERE ticket_id = 't1'")) == [(1,)]
    exposed = httpx.get(f"{metrics}/metrics", timeout=5).text
    assert "helpdesk_query_events_applied_total 2.0" in exposed
    assert "helpdesk_query_sla_events_applied_total 1.0" in exposed
    os.kill(projector.pid, signal.SIGSTOP)  # hung: its probes see it
    try:
        assert _image_healthcheck(projector.pid) == 1
    finally:
        os.kill(projector.pid, signal.SIGCONT)


def _image_healthcheck(pid: int) -> int:
    """The image's HEALTHCHECK against the process (it probes ``project``'s /healthz)."""
    return subprocess.run([sys.executable, "-m", "helpdesk_shared.healthcheck", "--pid", str(pid)],
                          capture_output=True, timeout=30).returncode


def _answers(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return 0
