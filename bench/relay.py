"""The relay draining a backlog, by window: messages/s, and CPU per message of the relay and of nats-server.

Fills one store through intake's in-process app (a desk and ``--tickets`` tickets), then for
each ``--windows`` value lets a relay (in this process, on a fresh embedded NATS) publish the
whole backlog, and prints the wall time, the time per window, and the CPU the relay's thread
and the server spent. Windows under 16 go one message at a time (``adapters/window.py``;
``--atomic-from`` moves that threshold, to weigh it), so 1 is the old relay. ``--replicas 3``
runs each on a fresh 3-node JetStream cluster, the stream in three copies (the ``production``
overlay), and counts the CPU of all three nodes.

    .venv/bin/python bench/relay.py [--tickets 2000] [--windows 1 16 100] [--replicas 1|3] [--atomic-from 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/intake", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from helpdesk_devstack import EmbeddedNats, NatsCluster, free_port  # noqa: E402

from _support import cpu_seconds  # noqa: E402
from helpdesk_intake.adapters import window as atomic_windows  # noqa: E402
from helpdesk_intake.adapters.eventstore import open_event_store  # noqa: E402
from helpdesk_intake.entrypoints.relay import Relay  # noqa: E402
from helpdesk_shared import subjects  # noqa: E402
from helpdesk_shared.connections import connect_nats  # noqa: E402
from helpdesk_shared.stream import StreamLimits, ensure_stream  # noqa: E402
from tests.intake.conftest import intake_worker  # noqa: E402
from tests.intake.relaying import PUBLIC  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.desk import provision  # noqa: E402


async def drain(database_url: str, nats_url: str, window: int, expected: int,
                limits: StreamLimits) -> tuple[float, float]:
    """Run a relay until the stream holds ``expected`` messages: (wall seconds, relay thread CPU seconds)."""
    store = await asyncio.to_thread(open_event_store, database_url, 2, 0)
    nc = await connect_nats(nats_url, "bench-relay")
    await ensure_stream(nc.jetstream(), limits)  # made (and its copies current) before the clock starts
    relay = Relay(store, nc.jetstream(), database_url, limits, window=window)
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


@contextlib.contextmanager
def fresh_nats(root: Path, replicas: int) -> Iterator[tuple[str, list[int]]]:
    """A fresh embedded NATS (``replicas`` 1) or 3-node cluster: its URL and its servers' pids."""
    if replicas == 1:
        with EmbeddedNats(root, free_port()) as server:
            yield server.url, [server.pid]
    else:
        with NatsCluster(root, size=replicas) as cluster:
            yield cluster.url, [node.pid for node in cluster.nodes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 16, 100])
    parser.add_argument("--replicas", type=int, choices=[1, 3], default=1,
                        help="3: a 3-node JetStream cluster, the stream in three copies")
    parser.add_argument("--atomic-from", type=int, default=atomic_windows.ATOMIC_FROM,
                        help="the smallest window sent as an atomic batch (to weigh adapters/window.py's threshold)")
    args = parser.parse_args()
    atomic_windows.ATOMIC_FROM = args.atomic_from
    limits = StreamLimits(replicas=args.replicas)
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
            with fresh_nats(Path(root) / f"window-{window}-{time.monotonic_ns()}", args.replicas) as (url, pids):
                server_cpu = sum(cpu_seconds(pid) for pid in pids)
                wall, cpu = asyncio.run(drain(database_url, url, window, expected, limits))
                server_cpu = sum(cpu_seconds(pid) for pid in pids) - server_cpu
            per_window = wall / -(-expected // window)
            print(f"window {window:4d}, {args.replicas} cop{'y' if args.replicas == 1 else 'ies'}: {expected} messages"
                  f" in {wall:.2f} s = {expected / wall:,.0f} msgs/s, {1000 * per_window:.1f} ms per window;"
                  f" relay {1000 * cpu / expected:.3f} ms CPU/message, nats-server {1000 * server_cpu / expected:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
