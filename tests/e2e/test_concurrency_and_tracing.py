"""intake as a real process: concurrent commands on one ticket, and one trace across processes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.desk import KS7, provision
from tests.support.stream import read_all
from tests.support.waiting import wait_until


def _parallel(url: str, requests: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    def send(request: tuple[str, dict, dict]) -> httpx.Response:
        path, body, headers = request
        with httpx.Client(base_url=url, timeout=30) as client:
            return client.post(path, json=body, headers=headers)
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_concurrent_commands_on_one_ticket_resolve_by_optimistic_concurrency(services):
    intake = services.start("intake", "serve")
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk = provision(client)
        ticket = desk.open()
    accepts = _parallel(intake.url, [(f"/v1/tickets/{ticket['id']}/actions/accept", {}, desk.agent)] * 16)
    assert sorted(r.status_code for r in accepts) == [200] + [409] * 15
    assert {r.json()["code"] for r in accepts if r.status_code == 409} == {"invalid_transition"}
    comments = _parallel(intake.url, [(f"/v1/tickets/{ticket['id']}/comments", {"body": f"#{i}"}, desk.agent)
                                      for i in range(20)])
    assert all(r.status_code == 201 for r in comments), [r.text for r in comments if r.status_code != 201]
    assert sorted(r.json()["version"] for r in comments) == list(range(3, 23))


def test_card2_trace_runs_from_the_http_request_through_the_store_to_the_published_message(services, nats_url, tmp_path):
    spans_file = tmp_path / "spans.jsonl"
    env = {"HELPDESK_TRACE_FILE": str(spans_file)}
    intake = services.start("intake", "serve", env=env)
    services.start("intake", "relay", env=env)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk = provision(client)
        opened = client.post("/v1/tickets", json={"subject": "s", "description": "d", "details": KS7},
                             headers={**desk.customer, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    ticket_id = opened.json()["id"]
    wait_until(lambda: any(ticket_id in m.subject for m in read_all(nats_url)), timeout=20)
    (message,) = [m for m in read_all(nats_url) if ticket_id in m.subject]
    assert message.headers["traceparent"].split("-")[1] == trace_id

    def spans() -> list[dict]:
        lines = spans_file.read_text().splitlines() if spans_file.exists() else []
        return [s for s in map(json.loads, lines) if s["context"]["trace_id"] == "0x" + trace_id]
    wait_until(lambda: {"eventstore.commit", "publish opened"} <= {s["name"] for s in spans()}, timeout=20)
    services_seen = {s["resource"]["attributes"]["service.name"] for s in spans()}
    assert services_seen == {"helpdesk-intake", "helpdesk-intake-relay"}
    assert any(s["name"].startswith("POST") for s in spans())
