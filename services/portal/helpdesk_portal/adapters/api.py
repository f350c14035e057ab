"""intake's and query's APIs, called with the signed-in user's token; the portal has none of its own."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec


class ApiError(Exception):
    """An API refused or failed a call; ``status``, ``code`` and ``detail`` come from its problem document."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.errors = status, code, detail, errors or []

    @property
    def unauthorized(self) -> bool:
        return self.status == 401


_json = msgspec.json.Decoder()  # faster than the stdlib's on the ticket documents every page reads
_KEPT_MAX = 5000  # kept answers at most (every user's few reads)


class Api:
    """One HTTP client per upstream, opened in the lifespan; each call carries the caller's token."""

    def __init__(self, intake_url: str, query_url: str, timeout: float) -> None:
        self._kept: dict[tuple[str, str, str, str], tuple[float, dict[str, Any]]] = {}
        self.intake = httpx.AsyncClient(base_url=intake_url.rstrip("/"), timeout=timeout)
        self.query = httpx.AsyncClient(base_url=query_url.rstrip("/"), timeout=timeout)
        self.stream_timeout = httpx.Timeout(timeout, read=None)

    async def close(self) -> None:
        await self.intake.aclose()
        await self.query.aclose()

    async def sign_in(self, login: str, password: str) -> dict[str, Any]:
        return await self._call(self.intake, "POST", "/v1/auth/token", None, json={"login": login, "password": password})

    async def command(self, token: str, path: str, body: Mapping[str, Any] | None = None,
                      method: str = "POST", **kwargs: Any) -> dict[str, Any]:
        """A command on intake; the answer carries ``position`` (``Helpdesk-Position``) for the read after it."""
        if body is not None:
            kwargs["json"] = body
        return await self._call(self.intake, method, path, token, **kwargs)

    async def attach(self, token: str, ticket_id: str, files: list[tuple[str, bytes, str]],
                     body: str = "", visibility: str = "public") -> dict[str, Any]:
        """Files on a ticket through intake's attachment API: one comment carrying them."""
        parts = [("file", (name, content, kind)) for name, content, kind in files]
        fields = {"visibility": visibility, **({"body": body} if body else {})}
        return await self._call(self.intake, "POST", f"/v1/tickets/{ticket_id}/attachments", token,
                                files=parts, data=fields)

    async def read(self, token: str, path: str, params: Any = None, position: int | None = None) -> dict[str, Any]:
        """A read on query; with ``position`` it waits until the read model has applied that command."""
        headers = {"Helpdesk-Min-Position": str(position)} if position else {}
        return await self._call(self.query, "GET", path, token, params=params, headers=headers)

    async def read_intake(self, token: str, path: str, params: Any = None) -> dict[str, Any]:
        return await self._call(self.intake, "GET", path, token, params=params)

    async def read_intake_kept(self, user_id: str, token: str, path: str, params: Any = None,
                               seconds: float = 10.0) -> dict[str, Any]:
        """A read on intake of what changes rarely (a policy's catalogue, the releases), kept per user for
        ``seconds``: a ticket page then asks two APIs instead of four. Only what that user was answered is
        given back to that user, so the portal still holds nothing the user could not read. The key holds the
        token's digest, not only the user id its claims name: the portal does not verify tokens (the APIs do),
        so a forged token naming someone's id must not be answered from what they were answered."""
        key = (user_id, hashlib.sha256(token.encode()).hexdigest(), path, repr(sorted((params or {}).items())))
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        answer = await self.read_intake(token, path, params)
        if len(self._kept) >= _KEPT_MAX:
            self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
            if len(self._kept) >= _KEPT_MAX:
                self._kept.clear()
        self._kept[key] = (now + seconds, answer)
        return answer

    def forget(self, path: str) -> None:
        """Drop every user's kept answer of ``path`` (a policy just published changes the time zones)."""
        self._kept = {k: v for k, v in self._kept.items() if k[2] != path}

    async def policy(self, token: str, document: str, validate: bool) -> dict[str, Any]:
        """A policy document (TOML) checked (``validate``: a dry run on intake) or published."""
        path = "/v1/policies/validate" if validate else "/v1/policies"
        return await self._call(self.intake, "POST", path, token, content=document.encode(),
                                headers={"Content-Type": "application/toml"})

    async def download(self, token: str, path: str) -> httpx.Response:
        response = await self.query.get(path, headers=_auth(token))
        if response.status_code >= 400:
            raise problem(response)
        return response

    async def csv(self, token: str, path: str, params: Any = None) -> httpx.Response:
        """A report of query's as CSV (``Accept: text/csv``), its body not yet read: the caller streams it on
        (``passed_on``); a refusal is raised before anything is sent."""
        return await self.open_stream(token, path, params or {}, "text/csv")

    @asynccontextmanager
    async def stream(self, token: str, last_event_id: str | None, ticket_id: str | None = None
                     ) -> AsyncIterator[httpx.Response]:
        """query's server-sent events for this user (one ticket's with ``ticket_id``), resumed after ``last_event_id``."""
        headers = {**_auth(token), "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        params = {"ticket_id": ticket_id} if ticket_id else {}
        async with self.query.stream("GET", "/v1/stream", params=params, headers=headers,
                                     timeout=self.stream_timeout) as response:
            if response.status_code >= 400:
                await response.aread()
                raise problem(response)
            yield response

    async def open_stream(self, token: str, path: str, params: Mapping[str, str], accept: str) -> httpx.Response:
        """A read on query whose body the caller streams on and then closes (an export of any size)."""
        request = self.query.build_request("GET", path, params=params, timeout=self.stream_timeout,
                                           headers={**_auth(token), "Accept": accept})
        try:
            response = await self.query.send(request, stream=True)
        except httpx.HTTPError as error:
            raise ApiError(503, "unavailable", f"{self.query.base_url.host} is not answering") from error
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise problem(response)
        return response

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, token: str | None,
                    headers: Mapping[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await client.request(method, path, headers={**_auth(token), **(headers or {})}, **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(503, "unavailable", f"{client.base_url.host} is not answering") from error
        if response.status_code >= 400:
            raise problem(response)
        body = _json.decode(response.content) if response.content else {}
        if isinstance(body, dict) and (position := response.headers.get("helpdesk-position")):
            body["position"] = int(position)
        if isinstance(body, dict) and (at := response.headers.get("helpdesk-stream-position")):
            body["stream_position"] = at  # where query's stream stood before the read: a page's /live resumes there
        return body if isinstance(body, dict) else {"items": body}


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def problem(response: httpx.Response) -> ApiError:
    """The problem document of a refused call, or what the status says when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiError(response.status_code, str(body.get("code", "error")),
                    str(body.get("detail") or body.get("title") or response.reason_phrase), body.get("errors"))


async def passed_on(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """The body of an ``open_stream`` answer as it arrives (never held whole), the answer closed at the end."""
    try:
        async for chunk in upstream.aiter_bytes():
            yield chunk
    finally:
        await upstream.aclose()
