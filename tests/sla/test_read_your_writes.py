"""Deadlines are read-your-writes (CONTRACT §4): a read with the position a command answered shows
the SLA targets it caused, even while another client keeps the stack busy."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.sla.scenario import msk

pytestmark = [pytest.mark.e2e]


def _load(desk: Any, stop: threading.Event, done: list[int]) -> None:
    """A second client: opens tickets and comments on them until told to stop."""
    with httpx.Client(base_url=str(desk.client.base_url), timeout=30) as client:
        while not stop.is_set():
            opened = client.post("/v1/tickets", json={"subject": "Load", "description": "busy"},
                                 headers=desk.desk.other_customer)
            if opened.status_code == 201:
                client.post(f"/v1/tickets/{opened.json()['id']}/comments", json={"body": "more"},
                            headers=desk.desk.other_customer)
                done.append(1)


def test_read_your_writes_ten_tickets_in_a_row_show_their_deadline_under_load(start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 10, 0), query=True)
    stop, done = threading.Event(), []
    loader = threading.Thread(target=_load, args=(desk, stop, done), daemon=True)
    loader.start()
    shown = []
    try:
        for n in range(10):
            opened = desk.client.post("/v1/tickets", json={"subject": f"VPN {n}", "description": "down"},
                                      headers=desk.desk.customer)
            assert opened.status_code == 201, opened.text
            read = httpx.get(f"{desk.query.url}/v1/tickets/{opened.json()['id']}", timeout=10, headers={
                **desk.desk.customer, "Helpdesk-Min-Position": opened.headers["Helpdesk-Position"]})
            assert read.status_code == 200, read.text
            shown.append([t["kind"] for t in read.json()["sla"]["targets"] if t["due_at"]])
    finally:
        stop.set()
        loader.join(timeout=30)
    assert done, "the second client never got a ticket in"
    assert shown == [["first_response"]] * 10  # IMC-5's primary analysis, on every read
