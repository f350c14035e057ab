"""The auditor's pages against the desk and the portal as real processes: finding a ticket by number, its
history with what each event changed, the time slider without JavaScript (a form GET) and in a real
Chromium (htmx), and the event log's export streamed through the portal. Only auditors and admins.

The HTTP routes share this module's stack with the one browser test (one stack start for both).
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.portal.browser import browser, serious_violations  # noqa: F401 - the fixture
from tests.portal.conftest import PASSWORD, PortalStack, signed_in
from tests.portal.test_browser import Shots, sign_in
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
FORBIDDEN = "Это действие вам недоступно."


def _token(stack: PortalStack, login: str) -> dict[str, str]:
    answer = httpx.post(stack.intake + "/v1/auth/token", json={"login": login, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def story(portal_stack: PortalStack) -> Iterator[dict[str, Any]]:
    """An auditor, and a ticket a customer filed that an agent raised to high priority, then accepted."""
    login = f"auditor-{uuid.uuid4().hex[:6]}"
    made = httpx.post(portal_stack.intake + "/v1/staff", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                      json={"name": "Auditor", "email": f"{login}@desk.test", "login": login, "password": PASSWORD,
                            "role": "auditor"})
    assert made.status_code == 201, made.text
    customer, agent = _token(portal_stack, portal_stack.customer), _token(portal_stack, portal_stack.agent)
    ticket = httpx.post(portal_stack.intake + "/v1/tickets", headers=customer,
                        json={"subject": "Касса не открывает смену", "description": "ошибка 42"}).json()
    path = f"{portal_stack.intake}/v1/tickets/{ticket['id']}"
    assert httpx.patch(path, headers=agent, json={"priority": "high"}).status_code == 200
    assert httpx.post(path + "/actions/accept", headers=agent, json={}).status_code == 200
    auditor = _token(portal_stack, login)
    history = f"{portal_stack.query}/v1/tickets/{ticket['id']}/history"
    wait_until(lambda: len(httpx.get(history, headers=auditor).json().get("items", [])) == 3, timeout=30)
    yield {"auditor": login, "id": ticket["id"], "number": ticket["number"]}


def test_auditor_finds_a_ticket_by_number_and_sees_what_each_event_changed(portal_stack: PortalStack,
                                                                          story: dict[str, Any]) -> None:
    client = signed_in(portal_stack, story["auditor"])
    assert 'href="/audit"' in client.get("/tickets").text  # the auditor's pages are in the menu
    found = client.get("/audit", params={"q": story["number"]})
    assert found.status_code == 303 and found.headers["location"] == f"/audit/tickets/{story['id']}"
    by_id = client.get("/audit", params={"q": story["id"]})
    assert by_id.headers["location"] == found.headers["location"]
    page = client.get(found.headers["location"]).text
    assert "Касса не открывает смену" in page
    assert re.search(r"Приоритет</span>: <del>Обычный</del> → <ins>Высокий</ins>", page)
    assert re.search(r"Статус</span>: <del>Новая</del> → <ins>В работе</ins>", page)
    assert 'type="range" min="0" max="2"' in page and 'value="2"' in page  # three instants, the last shown
    missing = client.get("/audit", params={"q": "HD-NO-SUCH"})
    assert missing.status_code == 200 and "Заявки с таким номером" in missing.text


def test_auditor_slider_without_javascript_is_a_form_get_and_htmx_swaps_only_the_state(
        portal_stack: PortalStack, story: dict[str, Any]) -> None:
    client = signed_in(portal_stack, story["auditor"])
    first = client.get(f"/audit/tickets/{story['id']}", params={"at": "0"}).text
    state = first[first.index('class="card as-of"'):first.index("</section>", first.index('class="card as-of"'))]
    assert "status-new" in state and "Обычный" in state
    assert '<form method="get" action="/audit/tickets/' in first and 'name="at"' in first
    fragment = client.get(f"/audit/tickets/{story['id']}", params={"at": "2"},
                          headers={"HX-Request": "true", "HX-Target": "audit-state"}).text
    assert "<html" not in fragment and "status-in_progress" in fragment


def test_auditor_pages_refuse_agents_and_customers(portal_stack: PortalStack, story: dict[str, Any]) -> None:
    for login in (portal_stack.agent, portal_stack.customer):
        client = signed_in(portal_stack, login)
        for path in ("/audit", f"/audit/tickets/{story['id']}", "/audit/export", "/audit/export/download"):
            answer = client.get(path)
            assert answer.status_code == 403 and FORBIDDEN in answer.text, (login, path)
        assert 'href="/audit"' not in client.get("/tickets").text


def test_auditor_export_streams_the_log_through_the_portal_as_csv_and_ndjson(portal_stack: PortalStack,
                                                                             story: dict[str, Any]) -> None:
    client = signed_in(portal_stack, story["auditor"])
    assert 'action="/audit/export/download"' in client.get("/audit/export").text
    with client.stream("GET", "/audit/export/download", params={"format": "csv", "from_position": "1"}) as answer:
        assert answer.status_code == 200 and "content-length" not in answer.headers
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"].startswith("attachment;")
        text = answer.read().decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = [r["type"] for r in rows if r["subject"] == story["id"] and r["type"].startswith("helpdesk.ticket.")]
    assert mine == ["helpdesk.ticket.opened", "helpdesk.ticket.priority_changed", "helpdesk.ticket.accepted"]
    lines = client.get("/audit/export/download", params={"format": "ndjson"}).text.splitlines()
    assert len(lines) >= len(rows) and all(json.loads(line)["specversion"] == "1.0" for line in lines)
    refused = client.get("/audit/export/download", params={"from_position": "5", "to_position": "4"})
    assert refused.status_code == 400 and "to_position" in refused.text


def test_auditor_moves_the_slider_and_sees_the_earlier_status(browser: Any, portal_stack: PortalStack,  # noqa: F811
                                                              story: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    shot = Shots("auditor_slider")
    page = sign_in(browser, portal_stack, story["auditor"])
    page.click("a[href='/audit']")
    page.fill("#f-q", story["number"])
    page.press("#f-q", "Enter")
    state = page.locator(".as-of .badge")
    expect(state).to_have_text("В работе")
    expect(page.locator(".audit-timeline")).to_contain_text("Обычный → Высокий")
    shot(page, "history-now")
    violations = serious_violations(page)
    page.evaluate("window.auditorNotReloaded = true")
    page.focus("#f-at")
    page.keyboard.press("Home")  # the keyboard moves the slider to the first event
    expect(state).to_have_text("Новая")
    expect(page.locator(".as-of")).to_contain_text("Обычный")
    expect(page).to_have_url(re.compile(r"at=0"))
    assert page.evaluate("window.auditorNotReloaded === true"), "the page was reloaded, not swapped"
    assert page.evaluate("document.activeElement.id") == "f-at", "the slider lost the keyboard focus"
    page.keyboard.press("ArrowRight")
    expect(page.locator(".as-of")).to_contain_text("Высокий")
    shot(page, "history-earlier")
    assert not violations + serious_violations(page)
