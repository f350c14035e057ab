"""The JWKS client refetches on its schedule through one HTTP client per event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpdesk_shared.web.jwks import JwksClient
from helpdesk_shared.web.keys import generate_key, read_key_set


@pytest.fixture()
def jwks_server(tmp_path: Path) -> Iterator[tuple[str, list[str], str]]:
    """A real HTTP server answering a JWK set; yields its URL, the paths it served and the key's kid."""
    generate_key(tmp_path)
    key_set = read_key_set(tmp_path)
    body = json.dumps(key_set.jwks()).encode()
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/auth/jwks", served, key_set.jwks()["keys"][0]["kid"]
    finally:
        server.shutdown()


def test_perf_jwks_refreshes_through_one_client_per_loop(jwks_server: tuple[str, list[str], str]) -> None:
    url, served, kid = jwks_server
    jwks = JwksClient(url, refresh_seconds=0, min_interval=0)

    async def three_refreshes() -> list[object]:
        clients = []
        for _ in range(3):
            assert await jwks.key(kid) is not None
            clients.append(jwks._client)
        return clients

    first = asyncio.run(three_refreshes())
    assert len(served) == 3  # every stale read really fetched
    assert first[0] is first[1] is first[2]  # and reused the client (no SSL context per refresh)
    second = asyncio.run(three_refreshes())  # a new loop gets its own client
    assert second[0] is not first[0] and len(served) == 6
