"""The test clock (CONTRACT §6): intake's admin endpoints over the clock every service follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.sla.scenario import ADMIN, msk

pytestmark = [pytest.mark.e2e]


def test_clock_endpoints_answer_404_without_the_simulated_clock(services: Any) -> None:
    intake = services.start("intake", "serve")
    with httpx.Client(base_url=intake.url) as client:
        assert client.get("/v1/admin/clock", headers=ADMIN).status_code == 404
        response = client.post("/v1/admin/clock", json={"advance_seconds": 60}, headers=ADMIN)
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_clock_moves_forward_only_admin_only_and_reports_settled(start_desk: Any) -> None:
    start = msk(2026, 3, 2, 10, 0)
    desk = start_desk("medis", start=start)
    assert desk.clock() == {"now": start.astimezone(dt.UTC).isoformat(), "settled": True}
    moved = desk.client.post("/v1/admin/clock", json={"advance_seconds": 3600}, headers=ADMIN).json()
    assert moved == {"now": (start + dt.timedelta(hours=1)).astimezone(dt.UTC).isoformat(), "settled": True}
    back = desk.client.post("/v1/admin/clock", json={"now": start.isoformat()}, headers=ADMIN)
    assert back.status_code == 409 and back.headers["content-type"].startswith("application/problem+json")
    assert desk.now() == start + dt.timedelta(hours=1)
    assert desk.client.get("/v1/admin/clock", headers=desk.desk.agent).status_code == 403
    assert desk.client.post("/v1/admin/clock", json={"advance_seconds": 1},
                            headers=desk.desk.customer).status_code == 403
    assert desk.client.post("/v1/admin/clock", json={}, headers=ADMIN).status_code == 422


def test_every_service_follows_the_shared_clock_commands_are_stamped_with_it(start_desk: Any) -> None:
    start = msk(2026, 3, 2, 10, 0)
    desk = start_desk("medis", start=start)
    desk.move_to(start + dt.timedelta(days=3, minutes=7))
    tid = desk.open()
    [opened] = desk.ticket_facts(tid)
    assert opened.occurred_at == start + dt.timedelta(days=3, minutes=7)
