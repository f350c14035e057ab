"""What the benchmarks share: a lean keep-alive HTTP client, percentiles, and a throwaway stack.

The client is a few lines of asyncio streams on purpose: a load generator that
costs more CPU than the server it measures (httpx does, on 2 cores) measures
itself. It speaks just enough HTTP/1.1 for JSON requests with Content-Length.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "bench-admin-token"


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(payload)}",
                "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        status_line = await self._send(request)
        if not status_line:  # the server closed a keep-alive connection idle past its timeout: once more
            self.close()
            self.writer = None
            status_line = await self._send(request)
        assert self.reader is not None
        status = int(status_line.split()[1])
        response_headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            response_headers[name.strip().lower()] = value.strip()
        content = await self.reader.readexactly(int(response_headers.get("content-length", 0)))
        return status, response_headers, content

    async def _send(self, request: bytes) -> bytes:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        assert self.reader is not None
        try:
            return await self.reader.readline()
        except ConnectionResetError:
            return b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


DROPPED = (OSError, asyncio.IncompleteReadError, ValueError, IndexError)  # a connection the server closed


async def once_more(conn: Connection, *request: Any) -> tuple[int, dict[str, str], bytes]:
    """One request; once more on a new connection if the server closed an idle keep-alive one."""
    try:
        return await conn.request(*request)
    except DROPPED:
        conn.close()
        conn.writer = None
        return await conn.request(*request)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def latency_line(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    if not ms:
        return "no samples"
    return f"p50 {percentile(ms, 0.50):.1f} ms  p99 {percentile(ms, 0.99):.1f} ms  max {max(ms):.1f} ms"


@contextlib.contextmanager
def stack(*commands: tuple[str, ...], extra_env: dict[str, str] | None = None,
          pg_settings: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """An embedded PostgreSQL and NATS (durable settings, and ``pg_settings``) plus the given service processes."""
    from helpdesk_devstack import EmbeddedNats, EmbeddedPostgres, free_port
    from helpdesk_shared.migrations_cli import migrate_all

    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as tmp:
        with EmbeddedPostgres(Path(tmp) / "pg", free_port(), settings=pg_settings) as pg, \
                EmbeddedNats(Path(tmp) / "nats", free_port()) as nats:
            migrate_all(pg.url, "helpdesk_app")  # the services run as the owner here: a benchmark, not a proof
            env = {**os.environ, "HELPDESK_DATABASE_URL": pg.url, "HELPDESK_NATS_URL": nats.url,
                   "HELPDESK_ADMIN_TOKEN": ADMIN_TOKEN, "HELPDESK_JWT_KEYS_DIR": str(Path(tmp) / "jwt-keys"),
                   "HELPDESK_JWT_GENERATE_KEY": "true", "HELPDESK_SERVICE_TOKEN": "bench-service-token",
                   "HELPDESK_INTAKE_PORT": str(free_port()), "HELPDESK_QUERY_PORT": str(free_port()),
                   **(extra_env or {})}
            env.setdefault("HELPDESK_INTAKE_URL", f"http://127.0.0.1:{env['HELPDESK_INTAKE_PORT']}")  # token keys
            logs = [Path(tmp) / f"{'-'.join(command)}.log" for command in commands]
            processes = [subprocess.Popen([sys.executable, "-m", *command], env=env,
                                          stdout=log.open("wb"), stderr=subprocess.STDOUT)
                         for command, log in zip(commands, logs, strict=True)]
            env.update({f"BENCH_PID_{'_'.join(command)}": str(process.pid)
                        for command, process in zip(commands, processes)})  # for cpu_seconds
            env.update(BENCH_PID_PostgreSQL=str(pg.pid), BENCH_PID_NATS=str(nats.pid))
            try:
                for command, log in zip(commands, logs, strict=True):
                    if command[-1] == "serve":
                        _wait_ready(f"http://127.0.0.1:{env[_port_var(command[0])]}", log=log)
                yield env
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:  # a worker stuck in start-up: leave nothing behind
                        for pid in _descendants(process.pid):
                            with contextlib.suppress(ProcessLookupError):
                                os.kill(pid, 9)
                        process.kill()
                        process.wait()


def _descendants(pid: int) -> list[int]:
    """The process's live descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], list(children.get(pid, []))
    while pending:
        found.append(current := pending.pop())
        pending += children.get(current, [])
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (uvicorn's workers), from /proc."""
    total = 0
    for current in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _port_var(module: str) -> str:
    return f"HELPDESK_{module.removeprefix('helpdesk_').upper()}_PORT"


def _wait_ready(url: str, timeout: float = 240, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log else ""
    raise RuntimeError(f"{url} did not become ready\n{tail}")
