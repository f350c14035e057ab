"""Security headers for an API, on every answer of every service, errors and unrouted paths included.

- ``X-Content-Type-Options: nosniff`` always: a browser must not take JSON for a page.
- ``Cache-Control: no-store`` on an answer to a request carrying ``Authorization``, unless the
  handler chose its own (a download's ``private, no-cache`` keeps ``ETag`` revalidation).
- ``WWW-Authenticate: Bearer`` on every 401 (RFC 9110 §11.6.1), with ``error="invalid_token"``
  (RFC 6750 §3.1) when a bearer token came and was refused.
"""

from __future__ import annotations

from litestar.datastructures.response_header import ResponseHeader
from litestar.types import Message, Scope

REALM = 'Bearer realm="helpdesk"'
INVALID_TOKEN = f'{REALM}, error="invalid_token"'

DOCUMENTED = [
    ResponseHeader(name="X-Content-Type-Options", value="nosniff", documentation_only=True,
                   description="On every answer."),
    ResponseHeader(name="Cache-Control", value="no-store", documentation_only=True,
                   description="On answers to authenticated requests (file downloads: private, no-cache)."),
]


async def security_headers(message: Message, scope: Scope) -> None:
    """litestar ``before_send`` hook: add the headers to the start of every HTTP answer.

    It runs on every answer, so it reads the raw header list once instead of searching it per header.
    """
    if message["type"] != "http.response.start":
        return
    headers = message["headers"] = list(message.get("headers", ()))
    present = {name.lower() for name, _ in headers}
    if b"x-content-type-options" not in present:
        headers.append((b"x-content-type-options", b"nosniff"))
    authorization = header(scope, b"authorization")
    if authorization is not None and b"cache-control" not in present:
        headers.append((b"cache-control", b"no-store"))
    if message["status"] == 401 and b"www-authenticate" not in present:
        scheme, _, token = authorization.partition(" ") if authorization else ("", "", "")
        bearer = scheme.lower() == "bearer" and token.strip()
        headers.append((b"www-authenticate", (INVALID_TOKEN if bearer else REALM).encode()))


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the request header ``name`` (lower case, as ASGI gives names), read from the raw list:
    on the hot path litestar's ``request.headers``, a case-insensitive multidict built per request, is not
    needed for the few headers a command reads (issue 16)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
