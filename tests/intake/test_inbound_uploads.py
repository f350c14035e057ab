"""``answer_after_upload``: an answer waits for the rest of the upload, up to a cap (pure ASGI, no I/O).

The real intake and ``urllib`` are in tests/e2e/test_hardening_mail.py; here the body arrives in
chunks, as a server hands it over, so how much is read before the answer can be counted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar, Request, post

from helpdesk_intake.entrypoints.http.uploads import DRAIN_FACTOR, answer_after_upload

LIMIT = 1000
CHUNK = 100


@post("/upload", request_max_body_size=LIMIT, middleware=[answer_after_upload(LIMIT)])
async def upload(request: Request[Any, Any, Any]) -> int:
    return len(await request.body())


def post_in_chunks(size: int) -> tuple[int, list[tuple[bytes, bytes]], int]:
    """POST ``size`` bytes in chunks, announced; the answer's status and headers, and the chunks never read."""
    count = size // CHUNK
    chunks = [{"type": "http.request", "body": b"x" * CHUNK, "more_body": n < count - 1} for n in range(count)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/upload", "raw_path": b"/upload", "query_string": b"",
             "headers": [(b"content-length", str(size).encode())], "http_version": "1.1", "scheme": "http",
             "server": ("testserver", 80), "client": ("client", 1), "root_path": "", "asgi": {"version": "3.0"},
             "state": {}}
    asyncio.run(Litestar([upload])(scope, receive, send))  # type: ignore[arg-type]
    return sent[0]["status"], sent[0]["headers"], len(chunks)


def test_hardening_mail_an_oversize_upload_is_read_before_the_413():
    assert post_in_chunks(LIMIT // 2)[0] == 201
    status, headers, unread = post_in_chunks(LIMIT * DRAIN_FACTOR)
    assert (status, unread) == (413, 0) and (b"connection", b"close") not in headers


def test_hardening_mail_past_the_cap_the_413_goes_out_and_closes_the_connection():
    status, headers, unread = post_in_chunks(LIMIT * DRAIN_FACTOR * 5)
    assert status == 413 and (b"connection", b"close") in headers
    assert unread * CHUNK >= LIMIT * DRAIN_FACTOR * 5 - LIMIT * DRAIN_FACTOR - CHUNK  # no more than the cap read
