"""Answering a large upload only once it has been read, so that every client hears the answer.

A route that refuses a body (413 over its limit, 401, 415, ...) answers before reading it.
The server then closes a ``Connection: close`` request's socket with the upload still
arriving, the kernel resets it, and a client that writes its whole body before reading —
Python's ``urllib``, most scripts — sees ``Broken pipe`` instead of the problem document.
So the answer waits while the rest of the body is read and thrown away, up to a cap; past
the cap the answer goes out with ``Connection: close`` (a client sending that much more is
not waiting for an answer).
"""

from __future__ import annotations

from collections.abc import Callable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_FACTOR = 2  # read and discard at most this many times the route's body limit


def answer_after_upload(max_body_bytes: int) -> Callable[[ASGIApp], ASGIApp]:
    """Route middleware: an answer started before the request body was read waits for the rest of it,
    reading at most ``DRAIN_FACTOR × max_body_bytes``."""
    cap = DRAIN_FACTOR * max_body_bytes

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            upload = _Upload(receive)

            async def answer(message: Message) -> None:
                if message["type"] == "http.response.start" and not await upload.drain(cap):
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
                await send(message)

            await app(scope, upload.receive, answer)
        return wrapped
    return middleware


class _Upload:
    """The request body's receive channel, remembering whether the body has all been read."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.done = False

    async def receive(self) -> Message:
        message = await self._receive()
        self._saw(message)
        return message

    async def drain(self, cap: int) -> bool:
        """Read and discard what is left of the body, at most ``cap`` bytes; whether it all was read."""
        read = 0
        while not self.done and read <= cap:
            message = await self.receive()
            read += len(message.get("body", b""))
        return self.done

    def _saw(self, message: Message) -> None:
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.done = True
