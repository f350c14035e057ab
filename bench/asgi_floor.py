"""The floor under intake's CPU per command: plain uvicorn serving a bare ASGI app that does one INSERT.

The same server intake runs (uvicorn, httptools, one write per response, uvloop, the same
workers) and the same closed loop as ``bench/intake.py`` (16 keep-alive connections, a JSON
body and a bearer header of a command's size), but the app only reads the body, inserts one
row through a psycopg async pool (autocommit, one round trip) and answers a small JSON body:
no framework, no authentication, no domain, no event store, no group commit. CPU time per
request of the server's processes is what no framework on this server can go below.

    .venv/bin/python bench/asgi_floor.py [--seconds 15] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _support import Connection, cpu_seconds, latency_line, stack  # noqa: E402

CONCURRENCY = 16
ROW = "INSERT INTO bench_floor (payload) VALUES (%s) RETURNING id"


def app_factory() -> Any:
    """The bare ASGI app: body in, one INSERT, ``{"id": n}`` out (lifespan opens the pool)."""
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(os.environ["HELPDESK_DATABASE_URL"], min_size=4, max_size=16, open=False,
                               kwargs={"autocommit": True})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            await pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        async with pool.connection() as conn:
            row = await (await conn.execute(ROW, (body.decode(),))).fetchone()
        answer = b'{"id":%d}' % row[0]
        await send({"type": "http.response.start", "status": 201, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    return app


def serve(port: int, workers: int) -> None:
    import uvicorn

    from helpdesk_shared.web.one_write import OneWriteHttpTools

    uvicorn.run("asgi_floor:app_factory", factory=True, workers=workers, host="127.0.0.1", port=port,
                log_level="warning", access_log=False, proxy_headers=False, http=OneWriteHttpTools,
                app_dir=str(Path(__file__).resolve().parent))


async def closed_loop(port: int, seconds: float) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    body = {"body": "Looking into it"}
    headers = {"Authorization": "Bearer " + "x" * 300}  # a signed token's size
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        conn = Connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _, _ = await conn.request("POST", "/v1/tickets/t/comments", body, headers)
            assert status == 201, status
            latencies.append(time.perf_counter() - started)
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies), latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn's worker processes (bench/intake.py's: 2)")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)  # the server process itself
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.workers)
        return
    with stack() as env:
        from helpdesk_devstack.pg_binaries import find_bin_dir

        subprocess.run([str(find_bin_dir() / "psql"), env["HELPDESK_DATABASE_URL"], "-qc",
                        "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, payload text)"],
                       check=True, capture_output=True)
        port = int(env["HELPDESK_INTAKE_PORT"])
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--workers", str(args.workers)],
                                  env=env)
        try:
            for _ in range(300):
                try:
                    asyncio.run(Connection("127.0.0.1", port).request("POST", "/", {"body": "warm up"}))
                    break
                except OSError:
                    time.sleep(0.1)
            asyncio.run(closed_loop(port, 2))  # warm up: the pool's connections, the workers' first requests
            before = cpu_seconds(server.pid)
            count, latencies, elapsed = asyncio.run(closed_loop(port, args.seconds))
            spent = cpu_seconds(server.pid) - before
        finally:
            server.terminate()
            server.wait(timeout=15)
    print(f"bare ASGI app on intake's uvicorn settings ({args.workers} workers), one INSERT per request,"
          f" closed loop, {CONCURRENCY} connections, {elapsed:.0f} s:")
    print(f"  {count / elapsed:,.0f} requests/s ({count} requests)  {latency_line(latencies)}")
    print(f"  server CPU {1000 * spent / max(count, 1):.2f} ms/request ({spent:.1f} s over {count} requests):"
          " the floor under intake's CPU per command on this machine")


if __name__ == "__main__":
    main()
