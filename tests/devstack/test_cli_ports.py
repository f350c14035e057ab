"""The developer's command lines follow the stack ``make up`` was told to use (HELPDESK_*_PORT)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nats

from helpdesk_shared.settings import CommonSettings, from_env
from helpdesk_shared.stream import ensure_stream

BIN = Path(sys.executable).parent


def test_platform_cli_settings_follow_the_dev_stack_ports_unless_a_url_is_given() -> None:
    moved = from_env(CommonSettings, {"HELPDESK_PG_PORT": "56001", "HELPDESK_NATS_PORT": "4333"})
    assert moved.database_url == "postgresql://postgres@127.0.0.1:56001/helpdesk"
    assert moved.nats_url == "nats://127.0.0.1:4333"
    given = from_env(CommonSettings, {"HELPDESK_NATS_PORT": "4333", "HELPDESK_NATS_URL": "nats://elsewhere:4222"})
    assert given.nats_url == "nats://elsewhere:4222"


async def test_platform_cli_tail_reads_the_stack_on_helpdesk_nats_port(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await js.publish("helpdesk.ticket.t1.opened", json.dumps({"id": "e1", "type": "x"}).encode())
    finally:
        await nc.close()
    port = nats_url.rsplit(":", 1)[1]
    env = {"PATH": str(BIN), "HELPDESK_NATS_PORT": port}
    tail = subprocess.run([str(BIN / "helpdesk-dev"), "tail", "helpdesk.>", "--all", "--limit", "1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.startswith("helpdesk.ticket.t1.opened"), tail.stdout
