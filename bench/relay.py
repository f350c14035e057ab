"""The relay draining a backlog, by window: messages/s, and CPU per message of the relay and of nats-server.

Fills one store through intake's in-process app (a desk and ``--tickets`` tickets), then for
each ``--windows`` value lets a relay (in this process, on a fresh embedded NATS) publish the
whole backlog, and prints the wall time and the CPU the relay's thread and the server spent.
Windows under 16 go one message at a time (``adapters/window.py``), so 1 is the old relay.

    .venv/bin/python bench/relay.py [--tickets 2000] [--windows 1 16 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/intake", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from helpdesk_devstack import EmbeddedNats, free_port  # noqa: E402

from _support import cpu_seconds  # noqa: E402
from helpdesk_intake.adapters.eventstore import open_event_store  # noqa: E402
from helpdesk_intake.entrypoints.relay import Relay  # noqa: E402
from helpdesk_shared import subjects  # noqa: E402
from helpdesk_shared.connections import connect_nats  # noqa: E402
from tests.intake.conftest import intake_worker  # noqa: E402
from tests.intake.relaying import PUBLIC  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.desk import provision  # noqa: E402


async def drain(database_url: str, nats_url: str, window: int, expected: int) -> tuple[float, float]:
    """Run a relay until the stream holds ``expected`` messages: (wall seconds, relay thread CPU seconds)."""
    store = await asyncio.to_thread(open_event_store, database_url, 2, 0)
    nc = await connect_nats(nats_url, "bench-relay")
    relay = Relay(store, nc.jetstream(), database_url, window=window)
    started, cpu = time.perf_counter(), time.thread_time()
    running = asyncio.ensure_future(relay.run())
    while not await _holds(nc.jetstream(), expected):
        await asyncio.sleep(0.005)
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    relay.stop()
    await running
    await nc.close()
    store.close()
    return wall, cpu


async def _holds(js, expected: int) -> bool:  # noqa: ANN001
    try:
        return (await js.stream_info(subjects.STREAM)).state.messages >= expected
    except Exception:  # noqa: BLE001 - the relay has not made the stream yet
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 16, 100])
    args = parser.parse_args()
    with (tempfile.TemporaryDirectory() as root, servers.postgres_server() as postgres,
          servers.fresh_database(postgres) as database_url):
        with EmbeddedNats(Path(root) / "fill", free_port()) as nats_server, \
                intake_worker(database_url, nats_server.url) as client:
            desk = provision(client)
            for number in range(args.tickets):
                desk.open(description=f"ticket {number}")
        with psycopg.connect(database_url) as conn:
            expected = conn.execute("SELECT count(*) FROM intake.intake_events WHERE topic ~ %s",
                                    (PUBLIC,)).fetchone()[0]
        for window in args.windows:
            with EmbeddedNats(Path(root) / f"window-{window}-{time.monotonic_ns()}", free_port()) as nats_server:
                server_cpu = cpu_seconds(nats_server._process.pid)  # noqa: SLF001
                wall, cpu = asyncio.run(drain(database_url, nats_server.url, window, expected))
                server_cpu = cpu_seconds(nats_server._process.pid) - server_cpu  # noqa: SLF001
            print(f"window {window:4d}: {expected} messages in {wall:.2f} s = {expected / wall:,.0f} msgs/s;"
                  f" relay {1000 * cpu / expected:.3f} ms CPU/message, nats-server {1000 * server_cpu / expected:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
