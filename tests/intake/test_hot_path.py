"""intake's ticket commands keep a lean HTTP path (issue 16): per-request costs that litestar adds by shape."""

from __future__ import annotations

import datetime as dt
import uuid

from litestar import Litestar, Response, post
from litestar.datastructures import Cookie, ResponseHeader
from litestar.response.base import ASGIResponse
from litestar.testing import TestClient
from litestar import Request as HttpRequest
from litestar.handlers import HTTPRouteHandler

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.application import Outcome
from helpdesk_intake.application.service import fingerprint
from helpdesk_intake.entrypoints.http.meta import answer, command_request
from tests.support.desk import Desk, form_details


COMMANDS = {"open", "triage", "comment", "log_time", "act"}  # TicketController's handlers


def _ticket_commands(app: Litestar) -> list[HTTPRouteHandler]:
    return [h for route in app.routes if route.path.startswith("/v1/tickets")
            for h in getattr(route, "route_handlers", ()) if h.handler_name in COMMANDS]


def test_intake_cpu_ticket_commands_depend_on_one_chain_so_no_task_group_per_request(desk: Desk) -> None:
    """Two independent dependencies make litestar resolve them in an anyio task group, on every request."""
    commands = _ticket_commands(desk.client.app)
    assert len(commands) == 5
    for handler in commands:
        assert not handler.has_sync_callable  # on the command threads (threads.py), not litestar's executor
        available = handler.resolve_dependencies()
        used = [name for name in handler.parsed_fn_signature.parameters if name in available]
        assert used == ["command"], (handler.handler_name, used)
        # the caller is verified inside the command's dependency, not by one more dependency to resolve
        assert set(available["command"].signature_model._fields) == {"request"}  # type: ignore[union-attr]
    opened = desk.open()
    assert desk.act(opened["id"], "accept").status_code == 200


def test_intake_cpu_no_litestar_guards_the_parameter_check_is_a_middleware(desk: Desk) -> None:
    """litestar copies the route handler for every guard call; the edge's parameter check still answers 404."""
    assert not any(h.resolve_guards() for h in _ticket_commands(desk.client.app))
    refused = desk.client.post("/v1/tickets/bad%01id/comments", json={"body": "x"}, headers=desk.agent)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


def test_intake_cpu_a_commands_fingerprint_reads_the_path_as_the_url_did() -> None:
    """Stored idempotency fingerprints hash the path: it must read as ``request.url.path`` did before."""
    scope = {"type": "http", "method": "POST", "scheme": "http", "root_path": "/desk", "path": "/v1/tickets/t-1",
             "raw_path": b"/desk/v1/tickets/t-1", "query_string": b"a=1",
             "headers": [(b"host", b"h:8080"), (b"idempotency-key", b"k-1")], "server": ("h", 8080), "client": ("c", 1)}
    request = HttpRequest(scope)  # type: ignore[arg-type]
    principal = Principal(id="u-1", role=Role.AGENT)
    expected = fingerprint("POST", request.url.path, "{}")
    assert command_request(HttpRequest(scope), principal, "{}").fingerprint == expected  # type: ignore[arg-type]


def test_perf_a_command_without_an_idempotency_key_is_not_fingerprinted(desk: Desk) -> None:
    """Only a key's stored answer is compared with a fingerprint: without a key none is taken; with one, a
    repeat still answers the first answer and another body under the same key is still refused."""
    scope = {"type": "http", "method": "POST", "scheme": "http", "root_path": "", "path": "/v1/tickets",
             "raw_path": b"/v1/tickets", "query_string": b"", "headers": [], "server": ("h", 80), "client": ("c", 1)}
    assert command_request(HttpRequest(scope), Principal(id="u-1", role=Role.AGENT), "{}").fingerprint == ""  # type: ignore[arg-type]
    keyed = {**desk.customer, "Idempotency-Key": "perf-1"}
    details = form_details(desk.policy, None)
    body = {"subject": "Printer", "description": "It is on fire", **({"details": details} if details else {})}
    first = desk.client.post("/v1/tickets", json=body, headers=keyed)
    again = desk.client.post("/v1/tickets", json=body, headers=keyed)
    other = desk.client.post("/v1/tickets", json={**body, "subject": "Scanner"}, headers=keyed)
    assert first.status_code == 201 and again.json() == first.json()
    assert other.status_code == 422 and other.json()["code"] == "validation_failed"


def test_perf_a_commands_answer_is_sent_as_litestar_would_send_it() -> None:
    """``answer`` builds its two ASGI messages itself: the same status, headers (in order) and body as litestar's
    ``Response``; a route that adds headers or cookies of its own gets litestar's way."""
    body = {"id": uuid.UUID(int=7), "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "role": Role.AGENT,
            "text": "Прочитано ✓", "n": [1, 2.5, None, True]}

    @post("/lean", sync_to_thread=False)
    def lean() -> Response[dict]:
        return answer(Outcome(body, 42, 201))

    @post("/litestar", sync_to_thread=False)
    def plain() -> Response[dict]:
        return Response(body, status_code=201, headers={"Helpdesk-Position": "42"})

    @post("/decorated", sync_to_thread=False, response_headers=[ResponseHeader(name="X-Route", value="1")],
          response_cookies=[Cookie(key="c", value="v")])
    def decorated() -> Response[dict]:
        return answer(Outcome(body, 42, 201))

    app = Litestar([lean, plain, decorated])
    handler = app.route_handler_method_map["/lean"]["POST"]
    sent = answer(Outcome(body, 42, 201)).to_asgi_response(  # as litestar's handler for a returned Response calls it
        None, None, cookies=[], headers={}, media_type=handler.media_type, status_code=handler.status_code,
        type_encoders=handler.resolve_type_encoders())
    assert not isinstance(sent, ASGIResponse)  # the lean way, with the app's type encoders (pydantic's, here)
    with TestClient(app) as http:
        ours, theirs, routed = http.post("/lean"), http.post("/litestar"), http.post("/decorated")
    assert (ours.status_code, ours.headers.raw, ours.content) == (theirs.status_code, theirs.headers.raw, theirs.content)
    assert ours.json()["at"] == "2026-01-02T03:04:05Z" and ours.headers["helpdesk-position"] == "42"
    assert routed.headers["x-route"] == "1" and routed.cookies["c"] == "v" and routed.content == theirs.content
