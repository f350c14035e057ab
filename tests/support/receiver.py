"""A real HTTP receiver for webhook tests: a threaded ``http.server`` on 127.0.0.1 recording every request.

Each path answers the statuses scripted for it in turn (``script("/flaky", 500, 500)``),
then its default (200); ``delay`` makes each answer take that long, as a slow receiver's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered


class Receiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._scripts: dict[str, list[int]] = {}
        self.defaults: dict[str, int] = {}
        self.delay = 0.0
        self.requests: list[Received] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, path: str, *statuses: int) -> None:
        with self._lock:
            self._scripts[path] = list(statuses)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            queue = self._scripts.get(path) or []
            status = queue.pop(0) if queue else self.defaults.get(path, 200)
            self.requests.append(Received(path, headers, body, status))
        return status


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A running receiver on a free loopback port, shut down afterwards."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if holder["r"].delay:
                time.sleep(holder["r"].delay)  # the receiver's own latency, not a test's wait
            status = holder["r"].answer(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
