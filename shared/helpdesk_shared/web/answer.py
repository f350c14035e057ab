"""A lean way out for the hot answers: a JSON body and its headers as two ASGI messages, without litestar's
``ASGIResponse`` (intake's commands, query's ticket read)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response
from litestar.serialization import get_serializer


class Answer(Response[dict[str, Any]]):
    """A plain 2xx JSON answer, sent as its two ASGI messages built at once (issue 16): intake's commands,
    query's ticket read.

    litestar turns a returned ``Response`` into an ``ASGIResponse``: the route's headers merged into a
    mutable header collection, the body rendered, content type and length set by default, then encoded
    again to send. Such an answer has nothing to merge (its route sets no headers, cookies or background
    tasks; otherwise it goes litestar's way, as does any other status or media type), so its body is encoded
    by litestar's own JSON serializer and its headers, in the order litestar sends them, are bytes at once;
    what the edge adds (``before_send``: security headers) is added as for any answer.
    """

    def to_asgi_response(self, app: Any, request: Any, *, background: Any = None, cookies: Any = None,
                         encoded_headers: Any = None, headers: dict[str, str] | None = None,
                         is_head_response: bool = False, media_type: Any = None, status_code: int | None = None,
                         type_encoders: Any = None) -> Any:
        if (app is not None or background or cookies or encoded_headers or headers or is_head_response
                or self.background or self.cookies or (self.media_type or media_type or MediaType.JSON) != MediaType.JSON
                or not 200 <= (self.status_code or status_code or 200) < 300 or self.status_code == 204):
            return super().to_asgi_response(
                app, request, background=background, cookies=cookies, encoded_headers=encoded_headers,
                headers=headers, is_head_response=is_head_response, media_type=media_type, status_code=status_code,
                type_encoders=type_encoders)
        if self.response_type_encoders:
            type_encoders = {**(type_encoders or {}), **self.response_type_encoders}
        body = self.render(self.content, MediaType.JSON, get_serializer(type_encoders))
        start = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        start += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return _Sent({"type": "http.response.start", "status": self.status_code or status_code or 200,
                      "headers": start},
                     {"type": "http.response.body", "body": body, "more_body": False})


class _Sent:
    """An answer's two ASGI messages."""

    __slots__ = ("start", "body")

    def __init__(self, start: dict[str, Any], body: dict[str, Any]) -> None:
        self.start, self.body = start, body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(self.start)
        await send(self.body)
