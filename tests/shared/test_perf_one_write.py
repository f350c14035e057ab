"""One socket write per HTTP response (helpdesk_shared/web/one_write.py), on a real uvicorn server and socket.

What reaches the connection's real transport is recorded under the protocol: uvicorn's own httptools
protocol writes a response twice (status line and headers, then the body); ``OneWriteHttpTools`` once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from helpdesk_devstack import free_port
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from helpdesk_shared.web.one_write import OneWriteHttpTools

WRITES: list[bytes] = []  # what the servers below wrote to their sockets, one entry per write
RELEASE = threading.Event()  # lets the streamed answer's body go


class _Recorded:
    """The real transport, its writes noted on the way."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedOneWrite(OneWriteHttpTools):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Recorded(transport))  # type: ignore[arg-type]


class RecordedUvicorn(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Recorded(transport))  # type: ignore[arg-type]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await asyncio.get_running_loop().run_in_executor(None, RELEASE.wait, 10)
        await send({"type": "http.response.body", "body": b"late", "more_body": False})
        return
    body = b'{"id":"%s"}' % scope["path"].encode()
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def serving(protocol: type[asyncio.Protocol]) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol, loop="uvloop",
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.02)
            assert thread.is_alive(), "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    WRITES.clear()
    RELEASE.clear()


@pytest.mark.parametrize(("protocol", "writes"), [(RecordedUvicorn, 2), (RecordedOneWrite, 1)])
def test_perf_a_response_is_one_write_to_the_socket(protocol: type[asyncio.Protocol], writes: int) -> None:
    with serving(protocol) as base, httpx.Client(base_url=base) as client:
        answers = [client.post(f"/tickets/{n}") for n in range(20)]  # one keep-alive connection
    assert [(a.status_code, a.json()) for a in answers] == [(201, {"id": f"/tickets/{n}"}) for n in range(20)]
    assert len(WRITES) == 20 * writes
    if writes == 1:
        assert all(w.startswith(b"HTTP/1.1 201") and w.endswith(b'"}') for w in WRITES)


def test_perf_a_streamed_response_sends_its_headers_before_its_body_is_ready() -> None:
    with serving(RecordedOneWrite) as base, httpx.Client(base_url=base) as client:
        with client.stream("GET", "/stream") as answer:
            assert answer.status_code == 200  # the headers came while the body is held back
            RELEASE.set()
            assert answer.read() == b"late"


def test_perf_an_answer_on_a_closing_connection_arrives_whole() -> None:
    with serving(RecordedOneWrite) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /closing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := raw.recv(65536):
                received += chunk
    assert received.startswith(b"HTTP/1.1 201") and received.endswith(b'{"id":"/closing"}')
    assert len(WRITES) == 1
