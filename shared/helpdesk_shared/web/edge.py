"""The text rule (``helpdesk_shared.text``) applied once, at the edge of every service.

Bodies: ``CheckedRequest`` refuses a JSON or form body holding a refused character
before any handler sees it, with a 422 naming every such field. Path and query:
``ParameterGuard`` (run by the request middleware, web/request_telemetry.py) answers 404 for a path
parameter that cannot name anything (a refused character, or an id off the shape the service gives
for it) and 422 naming the query parameter that holds one, so no such value reaches SQL or NATS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions import ClientException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Empty, Scope

from helpdesk_shared.text import BadText, bad_text, clean_text
from helpdesk_shared.web.headers import header
from helpdesk_shared.web.problems import Problem

IdShapes = Mapping[str, re.Pattern[str]]


def refuse(errors: list[BadText]) -> None:
    """Raise the 422 ``validation_failed`` problem naming each field in ``errors``, if any."""
    if errors:
        raise Problem(422, "validation_failed", str(errors[0]),
                      errors=[{"field": e.field, "message": str(e)} for e in errors])


class CheckedRequest(Request[Any, Any, Any]):
    """litestar's request, whose JSON and form bodies hold no refused character (one rule for every command)."""

    async def body(self) -> bytes:
        """litestar's ``body()``, its limits kept, read in a plain loop rather than through ``stream()``, an async
        generator the event loop registers and finalises on every command (about 3 % of a worker's CPU, issue 16)."""
        if self._body is Empty and self._connection_state.body is Empty and self.is_connected:
            self._body = self._connection_state.body = await self._received()
        return await super().body()

    async def _received(self) -> bytes:
        """The body's chunks as ``Request.stream`` takes them: over the handler's size limit is a 413."""
        limit = self.route_handler.resolve_request_max_body_size() or math.inf
        announced = self._announced_length()
        if announced is not None and announced > limit:
            raise RequestEntityTooLarge
        chunks: list[bytes] = []
        size = 0
        while message := await self.receive():
            if message["type"] == "http.request":
                if chunk := message["body"]:
                    size += len(chunk)
                    if size > limit:
                        raise RequestEntityTooLarge
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            if message["type"] == "http.disconnect":
                raise InternalServerException("client disconnected prematurely")
        self.is_connected = False
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _announced_length(self) -> int | None:
        """``Request.content_length`` from the raw header, without building ``request.headers`` for it."""
        if self._content_length is Empty:
            value = header(self.scope, b"content-length")
            try:
                self._content_length = int(value) if value is not None else None
            except ValueError:
                raise ClientException(f"Invalid content-length: {value!r}") from None
        return self._content_length

    async def json(self) -> Any:
        try:
            data = await super().json()
        except RecursionError:  # msgspec's depth limit is the stack's: deep nesting is bad input, not a bug
            raise Problem(400, "validation_failed", "the JSON body nests too deeply", errors=[]) from None
        refuse(list(bad_text(data)))
        return data

    async def form(self) -> FormMultiDict:
        form = await super().form()
        errors: list[BadText] = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                errors += bad_text(value.filename, f"{clean_text(name)}.filename")
            else:
                errors += bad_text({name: value})
        if errors:
            for _, value in form.multi_items():
                if isinstance(value, UploadFile):
                    await value.close()
            refuse(errors)
        return form


class ParameterGuard:
    """Path and query parameters checked before a handler sees them, 404 or 422, never a 500.

    Called by the one request middleware (``RequestTelemetry``) once the request is routed, not a litestar
    guard: litestar copies the route handler for every guard call, on every request (issue 16).
    """

    def __init__(self, ids: IdShapes | None = None) -> None:
        self.ids = ids or {}

    def check(self, scope: Scope) -> None:
        """Raise the problem for a refused parameter of the routed request ``scope`` (it holds the path's)."""
        if params := scope.get("path_params"):
            self._check_path(params)
        if scope.get("query_string"):
            self._check_query(list(ASGIConnection(scope).query_params.multi_items()))

    def _check_path(self, params: Mapping[str, Any]) -> None:
        for name, value in params.items():
            if isinstance(value, str) and not self._fits(name, value):
                raise Problem(404, "not_found", f"no such {name}: {clean_text(value)!r}")

    def _check_query(self, params: list[tuple[str, Any]]) -> None:
        errors = [e for name, value in params for e in bad_text({name: value})]
        refuse(errors)
        for name, value in params:
            if not self._fits(name, value):
                raise Problem(422, "validation_failed", f"{name} is not an id",
                              errors=[{"field": name, "message": f"not an id: {value!r}"}])

    def _fits(self, name: str, value: str) -> bool:
        shape = self.ids.get(name)
        return not any(bad_text(value)) and (shape is None or shape.fullmatch(value) is not None)
