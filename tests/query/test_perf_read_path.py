"""The hot reads (a ticket, a list) take what they need from the app's state, set once at start-up (#16 item 3).

Beside ``principal``, a route's ``queries`` and ``feed`` dependencies made a batch of three that litestar
resolves in an anyio task group on every request; from the state, the batch is ``principal`` alone.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Response
from litestar.handlers.http_handlers._utils import normalize_headers
from litestar.response.base import ASGIResponse
from litestar.testing import AsyncTestClient

from helpdesk_shared.web.answer import Answer

from helpdesk_query.application import Queries
from helpdesk_query.bootstrap import create_app
from helpdesk_query.entrypoints.http import routes
from helpdesk_query.settings import QuerySettings
from tests.query.synthetic import histories, publish

ADMIN = {"Authorization": "Bearer perf-admin"}
HOT = {("/v1/tickets", "list_tickets"), ("/v1/tickets/{ticket_id:str}", "ticket")}


def _app(database_url: str, nats_url: str) -> Litestar:
    return create_app(QuerySettings(database_url=database_url, nats_url=nats_url, admin_token="perf-admin",
                                    jwks_url="http://127.0.0.1:9/jwks.json"))


def test_perf_ticket_and_list_reads_resolve_one_dependency_no_task_group() -> None:
    """Each hot read resolves a single batch of one dependency (the principal), so no task group per request."""
    app = _app("postgresql://unused/unused", "nats://127.0.0.1:9")
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if (route.path, handler.handler_name) in HOT:
                found.add((route.path, handler.handler_name))
                model = handler.create_kwargs_model(route.path_parameters)  # what litestar resolves per request
                assert [{d.key for d in batch} for batch in model.dependency_batches] == [{"principal"}]
                assert "state" in model.expected_reserved_kwargs
    assert found == HOT


async def test_perf_hot_reads_answer_from_the_queries_and_feed_set_at_start_up(
        read_model: str, nats_url: str, js: Any) -> None:
    """Once started, the state holds the read model's queries and the change feed; the reads answer from them,
    waiting for a position as before, with the stream position the feed stood at."""
    events = list(histories(tickets=3, events_per_ticket=2, seed=16))
    await publish(js, events)
    app = _app(read_model, nats_url)
    async with AsyncTestClient(app) as client:
        assert isinstance(app.state.queries, Queries)
        assert app.state.feed is not None
        last = events[-1]
        one = await client.get(f"/v1/tickets/{last.data.ticket_id}",
                               headers={**ADMIN, "Helpdesk-Min-Position": str(last.sequence)})
        assert one.status_code == 200, one.text
        assert one.json()["id"] == last.data.ticket_id
        assert one.headers["Helpdesk-Stream-Position"] == app.state.feed.cursor()  # nothing published since
        listed = await client.get("/v1/tickets", headers={**ADMIN, "Helpdesk-Min-Position": str(last.sequence)})
        assert listed.status_code == 200, listed.text
        assert {t["id"] for t in listed.json()["items"]} == {e.data.ticket_id for e in events}
        assert listed.headers["Helpdesk-Stream-Position"] == app.state.feed.cursor()


async def test_perf_a_ticket_is_answered_the_lean_way_with_the_bytes_litestar_would_send(
        read_model: str, nats_url: str, js: Any, monkeypatch: Any) -> None:
    """The ticket read answers through ``Answer`` (its route's Helpdesk-Stream-Position header is documentation
    only, so nothing sends it litestar's way): the same status, headers in order and body as a litestar
    ``Response``, for a read that waits for its position and for one that does not."""
    events = list(histories(tickets=2, events_per_ticket=6, seed=61))
    await publish(js, events)
    app = _app(read_model, nats_url)
    last = events[-1]
    path = f"/v1/tickets/{last.data.ticket_id}"
    route = app.route_handler_method_map["/v1/tickets/{ticket_id:str}"]["GET"]
    lean = Answer({"id": "x"}, headers={"Helpdesk-Stream-Position": "1:2"}).to_asgi_response(
        None, None, cookies=[], headers=normalize_headers(route.resolve_response_headers()),
        media_type=route.media_type, status_code=route.status_code, type_encoders=route.resolve_type_encoders())
    assert not isinstance(lean, ASGIResponse)
    reads = [{**ADMIN, "Helpdesk-Min-Position": str(last.sequence)}, ADMIN]
    async with AsyncTestClient(app) as client:
        ours = [await client.get(path, headers=headers) for headers in reads]
        monkeypatch.setattr(routes, "Answer", Response)
        theirs = [await client.get(path, headers=headers) for headers in reads]
    for one, other in zip(ours, theirs, strict=True):
        assert one.status_code == 200, one.text
        assert (one.status_code, one.headers.raw, one.content) == (other.status_code, other.headers.raw, other.content)
