"""The SLA compliance report (CONTRACT §4) on the real servers: counts by due time, access,
CSV, and the same numbers after ``helpdesk-query rebuild``."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx
import nats
import pytest

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.entrypoints.rebuild import rebuild
from tests.sla.scenario import msk

pytestmark = [pytest.mark.e2e]


def _report(desk: Any, headers: dict[str, str], **params: str) -> httpx.Response:
    return httpx.get(f"{desk.query.url}/v1/reports/sla", params=params, headers=headers, timeout=10)


def _rebuild(database_url: str, nats_url: str) -> None:
    async def run() -> None:
        nc = await nats.connect(nats_url)
        try:
            await rebuild(database_url, EventStream(nc), progress=False)
        finally:
            await nc.close()
    asyncio.run(run())


def test_sla_report_counts_targets_by_due_time_for_admins_auditors_and_the_customer_itself(
        start_desk: Any) -> None:
    desk = start_desk("imc", start=msk(2026, 2, 2, 10, 0), query=True)
    met = desk.open()
    desk.analyse(met, category="error", planned_date="2026-12-31")  # IMC-5's primary analysis in time
    desk.open()  # left alone: breached on Tuesday 10:00
    desk.move_to(msk(2026, 2, 3, 9, 0))
    desk.open()  # due Wednesday: still open
    desk.open(headers=desk.desk.other_customer)
    desk.move_to(msk(2026, 2, 3, 10, 1))
    acme, globex = desk.desk.customer_id, desk.desk.other_customer_id

    by_customer = _report(desk, desk.desk.auditor, group_by="customer_id,kind").json()
    assert by_customer["from"].startswith("2026-02-01") and by_customer["to"].startswith("2026-03-01")
    assert {r["customer_id"]: (r["kind"], r["met"], r["breached"], r["open"], r["compliance"])
            for r in by_customer["rows"]} == {acme: ("first_response", 1, 1, 1, 0.5),
                                               globex: ("first_response", 0, 0, 1, None)}
    own = _report(desk, desk.desk.customer, group_by="week").json()
    assert own["rows"] == [{"week": "2026-W06", "met": 1, "breached": 1, "open": 1, "compliance": 0.5}]
    assert _report(desk, desk.desk.customer, customer_id=globex).status_code == 403
    assert _report(desk, desk.desk.agent).status_code == 403
    assert _report(desk, desk.desk.admin, group_by="shoe_size").json()["code"] == "validation_failed"
    assert _report(desk, desk.desk.admin, to="2026-02-02").json()["rows"] == []  # nothing due on Monday

    sheet = _report(desk, {**desk.desk.admin, "Accept": "text/csv"}, group_by="month,kind", customer_id=acme)
    assert sheet.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(sheet.text))) == [
        ["month", "kind", "met", "breached", "open", "compliance"], ["2026-02", "first_response", "1", "1", "1", "0.5"]]

    _rebuild(desk.services.env["HELPDESK_MIGRATION_DATABASE_URL"], desk.nats_url)
    assert _report(desk, desk.desk.auditor, group_by="customer_id,kind").json() == by_customer
