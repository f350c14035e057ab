"""The CPU one request costs in the HTTP layers every service shares, without a network or a database.

``build_app`` (helpdesk_shared.web.app) with one handler that needs the caller (a signed
user token, verified and checked against revocations), driven by ASGI calls in-process:
routing, middleware, tracing (the sampler of a process that exports no spans), metrics, the edge checks,
authentication, the JSON answer.
CPU time per request, which a busy shared machine distorts far less than wall time.

    .venv/bin/python bench/http_layer.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar import post
from opentelemetry.sdk.trace import TracerProvider

from helpdesk_shared.telemetry import default_sampler
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.auth import Authenticator, Principal, TokenIssuer
from helpdesk_shared.web.keys import KeyRing, generate_key
from helpdesk_shared.web.revocation import Revocations


@post("/v1/tickets/{ticket_id:str}/comments", sync_to_thread=False, status_code=201)
def comment(ticket_id: str, data: dict[str, Any], principal: Principal) -> dict[str, Any]:
    return {"id": ticket_id, "by": principal.id, "body": data.get("body")}


async def drive(app: Any, token: str, requests: int) -> float:
    """CPU seconds per request over ``requests`` calls of the comment route."""
    body = b'{"body": "Looking into it"}'
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), (b"authorization", f"Bearer {token}".encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/tickets/t-1/comments", "raw_path": b"/v1/tickets/t-1/comments", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(200):  # warm up: caches, lazily built parts
        await app(dict(scope), receive, send)
    started = time.process_time()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    spent = time.process_time() - started
    assert set(statuses) == {201}, set(statuses)
    return spent / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as keys:
        generate_key(Path(keys), "bench")
        ring = KeyRing(keys)
        authenticator = Authenticator(ring, revocations=Revocations())
        token = TokenIssuer(ring).issue(Principal("u-1", Role.AGENT, sessions=0, session_id="s"),
                                        dt.datetime.now(dt.UTC))
        app = build_app(service="bench", version="0", handlers=[comment], authenticator=authenticator,
                        readiness={}, tracer_provider=TracerProvider(sampler=default_sampler(exporting=False)))
        per_request = asyncio.run(drive(app, token, args.requests))
    print(f"HTTP layers (build_app, one authenticated JSON command, in-process): "
          f"{per_request * 1e6:.0f} µs CPU per request over {args.requests} requests")


if __name__ == "__main__":
    main()
