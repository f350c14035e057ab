"""Each preset's catalogue and form end to end: intake, its relay and query as real processes (MED-3, KS-7, MED-12)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.query.desk import Caller, Desk
from tests.support.desk import PHONE, form_details
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def desk(services: Any) -> Iterator[Desk]:
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    query = services.start("query", "serve")
    client = Desk(intake.url, query.url)
    try:
        yield client
    finally:
        client.close()


def customer(desk: Desk, policy: str, contract: dict[str, Any] | None = None) -> tuple[Caller, str]:
    """A customer under ``policy`` with one user: the user as a caller, and the user's id."""
    name = uuid.uuid4().hex[:8]
    body = {"name": name, "email": f"it@{name}.test", "policy": policy, **({"contract": contract} if contract else {})}
    created, _ = desk.command(desk.admin, "POST", "/v1/customers", body)
    user, _ = desk.command(desk.admin, "POST", f"/v1/customers/{created['id']}/users", {
        "name": name, "email": f"u@{name}.test", "login": name, "password": "secret123", "phone": PHONE})
    return Caller(desk._token(name), created["id"]), user["id"]


def test_med3_ks7_end8_tel7_imc1_each_preset_files_through_its_catalogue_and_form_and_reads_back(desk: Desk) -> None:
    agent = desk.staff("agent")
    for policy in ("medis", "telemed", "keysystems", "endocs", "imc"):
        user, requester = customer(desk, policy)
        offer = desk.intake.get("/v1/catalogue", headers=user.auth).json()
        service = offer["services"][-1]["children"][0]["code"] if offer["services"] else None
        channel = offer["channels"][0]
        body = {"subject": f"{policy} request", "description": "d", "channel": channel, "category": "error",
                "details": form_details(policy, "error"), **({"service": service} if service else {})}
        if channel == "phone":
            body.update(customer_id=user.customer_id, requester_id=requester)
        opened, position = desk.command(agent if channel == "phone" else user, "POST", "/v1/tickets", body)
        read = desk.read(user, f"/v1/tickets/{opened['id']}", position)
        assert read.status_code == 200, read.text
        ticket = read.json()
        assert (ticket["service"], ticket["details"], ticket["incomplete"]) == (service, body["details"], False), policy
        assert ticket["channel"] == channel


def test_med12_hours_report_shows_budget_planned_used_and_remaining_for_the_customer(desk: Desk) -> None:
    agent = desk.staff("agent")
    user, _ = customer(desk, "medis", {"monthly_hours": 10})
    other, _ = customer(desk, "medis", {"monthly_hours": 5})
    opened, _ = desk.command(user, "POST", "/v1/tickets", {"subject": "s", "description": "d", "service": "6.1"})
    desk.command(agent, "PATCH", f"/v1/tickets/{opened['id']}", {"planned_minutes": 120})
    desk.command(agent, "POST", f"/v1/tickets/{opened['id']}/actions/accept", {})
    _, position = desk.command(agent, "POST", f"/v1/tickets/{opened['id']}/time-entries", {"minutes": 45})
    report = desk.read(user, "/v1/reports/hours", position)
    assert report.status_code == 200, report.text
    [row] = report.json()["items"]
    assert (row["customer_id"], row["budget_minutes"], row["planned_minutes"], row["used_minutes"],
            row["remaining_minutes"]) == (user.customer_id, 600, 120, 45, 480)
    csv = desk.query.get("/v1/reports/hours", params={"month": report.json()["month"]},
                         headers={**user.auth, "Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("customer_id,month,measure,budget_minutes")
    assert f"{user.customer_id},{row['month']},planned,600,120,45,480" in csv.text
    peek = desk.read(user, "/v1/reports/hours", customer_id=other.customer_id)
    assert peek.status_code == 404 and peek.json()["code"] == "not_found"
    bad = desk.read(user, "/v1/reports/hours", month="2026-13")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"


def test_med12_hours_report_shows_a_budgeted_customers_month_with_nothing_used_as_0_of_its_budget(desk: Desk) -> None:
    user, _ = customer(desk, "medis", {"monthly_hours": 10})
    unbudgeted, _ = customer(desk, "medis")

    def own_row() -> dict[str, Any] | None:
        items = desk.read(user, "/v1/reports/hours").json()["items"]
        return items[0] if items and items[0]["budget_minutes"] is not None else None

    row = wait_until(own_row, message="the customer's budget in its empty month")
    assert (row["customer_id"], row["budget_minutes"], row["used_minutes"], row["remaining_minutes"]) == \
        (user.customer_id, 600, 0, 600)
    everyone = {r["customer_id"]: r for r in desk.read(desk.admin, "/v1/reports/hours").json()["items"]}
    assert everyone[user.customer_id]["budget_minutes"] == 600 and unbudgeted.customer_id not in everyone
    desk.command(desk.admin, "PATCH", f"/v1/customers/{user.customer_id}", {"contract": {"monthly_hours": 20}})
    wait_until(lambda: (own_row() or {}).get("budget_minutes") == 1200, message="the new contract's budget")
    before = desk.read(user, "/v1/reports/hours", month="2000-01").json()["items"]
    assert [r["budget_minutes"] for r in before] == [None]  # registered after that month: no budget then
