"""A command's body read by ``CheckedRequest.body`` (helpdesk_shared.web.edge) in a plain loop: whole when it comes
in chunks, a 413 problem past the size limit whether announced or not, and the text rule still applied."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar import post
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider

from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.auth import Authenticator
from helpdesk_shared.web.keys import KeyRing
from tests.support.tokens import session_keys_dir

LIMIT = 1000


@post("/echo", sync_to_thread=False)
def echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


def client() -> TestClient:
    app = build_app(service="body", version="0", handlers=[echo], authenticator=Authenticator(
        KeyRing(session_keys_dir())), readiness={}, tracer_provider=TracerProvider(), max_body_bytes=LIMIT)
    return TestClient(app)


def chunked(http: TestClient, *parts: bytes) -> tuple[int, Any]:
    """POST /echo with a body without Content-Length that arrives in ``parts`` (one ASGI message each, all but
    the last with ``more_body``), as a server passes on a chunked upload; the status and the JSON answer."""
    messages = [{"type": "http.request", "body": part, "more_body": n < len(parts) - 1} for n, part in enumerate(parts)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/echo", "raw_path": b"/echo", "root_path": "", "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "state": {}}
    asyncio.run(http.app(scope, receive, send))  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


def test_perf_body_in_chunks_is_read_whole() -> None:
    with client() as http:
        status, answer = chunked(http, b'{"subject": "Prin', b'ter", "n": ', b"", b"42}")
    assert status == 201 and answer == {"subject": "Printer", "n": 42}


def test_body_over_the_limit_is_413_announced_or_not() -> None:
    big = b'{"s": "' + b"x" * LIMIT + b'"}'
    with client() as http:
        announced = http.post("/echo", content=big, headers={"Content-Type": "application/json"})
        streamed = chunked(http, big[:600], big[600:])
        within = http.post("/echo", json={"s": "x" * (LIMIT - 20)})
    assert announced.status_code == 413 and announced.json()["code"] == "payload_too_large"
    assert streamed[0] == 413 and streamed[1]["code"] == "payload_too_large"
    assert within.status_code == 201


def test_body_read_by_the_loop_still_refuses_control_characters() -> None:
    with client() as http:
        status, answer = chunked(http, b'{"subject": "bad\\u0007', b'"}')
    assert status == 422 and answer["errors"][0]["field"] == "subject"
