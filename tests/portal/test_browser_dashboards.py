"""The dashboards on a desk whose clock is simulated (so first-response targets can be met and breached in
seconds): an admin sees every customer's figures, a customer its own; each chart agrees with its table, the
CSV is query's passed through with the user's token. One browser test (screenshots, axe-core) and the
routes over HTTP share this module's stack."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.portal.browser import browser, serious_violations  # noqa: F401 - the fixture
from tests.portal.conftest import PASSWORD, PortalStack, signed_in
from tests.portal.test_browser import Shots, sign_in
from tests.portal.test_browser_chat import _telemed_user
from tests.support.desk import form_details
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
PORTAL_ENV = {"HELPDESK_CLOCK": "simulated"}  # read by the portal_stack fixture
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MOSCOW = ZoneInfo("Europe/Moscow")
FORTNIGHT = 14 * 86400  # past MedIS's 3 business days of first response (MED-10)
SUMS = """() => {
  const bars = [...document.querySelectorAll('g.bar')].map(g => ['met', 'breached'].map(s =>
      [...g.querySelectorAll(`rect[data-series=${s}]`)].reduce((a, r) => a + Number(r.dataset.value), 0)));
  const rows = [...document.querySelectorAll('details.numbers tbody tr')].map(tr => ['Соблюдено', 'Нарушено'].map(c =>
      Number(tr.querySelector(`td[data-label="${c}"]`)?.textContent ?? 0)));
  return {bars, rows};
}"""


@dataclass
class Desk:
    admin: str  # the admin's login
    auditor: str
    until: str  # a day of the week the clock stands in (the period's last week)


def _token(stack: PortalStack, login: str) -> dict[str, str]:
    answer = httpx.post(stack.intake + "/v1/auth/token", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def desk(portal_stack: PortalStack) -> Iterator[Desk]:
    """Acme files three requests (one accepted in time, two left), Globex one (left); Acme gets a budget of
    10 norm-hours; then the clock moves a fortnight on, so the three left have breached their first response."""
    with httpx.Client(base_url=portal_stack.intake, timeout=90) as intake:
        opened = {}
        for login, subjects in ((portal_stack.customer, ("A1", "A2", "A3")), (portal_stack.other_customer, ("G1",))):
            auth = _token(portal_stack, login)
            for subject in subjects:
                answer = intake.post("/v1/tickets", json={"subject": subject, "description": "d"}, headers=auth)
                assert answer.status_code == 201, answer.text
                opened[subject] = answer.json()["id"]
        accepted = intake.post(f"/v1/tickets/{opened['A1']}/actions/accept", json={},
                               headers=_token(portal_stack, portal_stack.agent))
        assert accepted.status_code == 200, accepted.text
        budget = intake.patch(f"/v1/customers/{portal_stack.customer_id}", json={"contract": {"monthly_hours": 10}},
                              headers=ADMIN)
        assert budget.status_code == 200, budget.text
        moved = intake.post("/v1/admin/clock", json={"advance_seconds": FORTNIGHT}, headers=ADMIN)
        assert moved.status_code == 200 and moved.json()["settled"], moved.text
        logins = {}
        for role in ("admin", "auditor"):
            logins[role] = f"{role}-{uuid.uuid4().hex[:6]}"
            made = intake.post("/v1/staff", headers=ADMIN, json={
                "name": role.title(), "email": f"{logins[role]}@desk.test", "login": logins[role],
                "password": PASSWORD, "role": role})
            assert made.status_code == 201, made.text
        yield Desk(logins["admin"], logins["auditor"], dt.datetime.fromisoformat(moved.json()["now"]).date().isoformat())


def _agreement(page: Any) -> tuple[int, int]:
    """Every bar's met and breached equal its table row's; the totals."""
    found = page.evaluate(SUMS)
    assert found["bars"] == found["rows"] and found["bars"], found
    return sum(b[0] for b in found["bars"]), sum(b[1] for b in found["bars"])


def test_dashboards_admin_sees_met_and_breached_by_week_the_chart_agrees_with_its_table_customer_sees_own(
        browser: Any, portal_stack: PortalStack, desk: Desk) -> None:  # noqa: F811
    shot, found = Shots("dashboards"), {}
    admin = sign_in(browser, portal_stack, desk.admin)
    admin.click("nav a[href='/dashboards']")
    admin.wait_for_selector("#f-until")
    admin.fill("#f-until", desk.until)
    admin.click("form.filters button[type=submit]")
    admin.wait_for_url("**until=*")
    assert _agreement(admin) == (1, 3)
    admin.click("details.numbers summary")
    shot(admin, "admin-sla-by-week")
    found["admin sla"] = serious_violations(admin)
    admin.select_option("#f-by", "customer_id")
    admin.click("form.filters button[type=submit]")
    admin.wait_for_url("**by=customer_id*")
    titles = admin.locator("svg[role=img]").evaluate_all("svgs => svgs.map(s => s.getAttribute('aria-label'))")
    assert titles == ["Соблюдение SLA по неделям: Acme", "Соблюдение SLA по неделям: Globex"]
    admin.click("a[href='/dashboards/backlog']")
    admin.wait_for_url("**/dashboards/backlog")
    assert admin.locator("rect[data-series]").evaluate_all(
        "rs => rs.reduce((a, r) => a + Number(r.dataset.value), 0)") == 4
    shot(admin, "admin-backlog")
    admin.click("a[href='/dashboards/hours']")
    admin.wait_for_url("**/dashboards/hours")
    assert admin.locator("g.bar[data-label=Acme] text").last.text_content() == "0 / 10"
    found["admin hours"] = serious_violations(admin)
    shot(admin, "admin-hours")
    customer = sign_in(browser, portal_stack, portal_stack.customer, viewport={"width": 390, "height": 844})
    customer.goto(f"{portal_stack.portal}/dashboards/sla?until={desk.until}")
    assert _agreement(customer) == (1, 2) and "Globex" not in customer.content()
    assert customer.locator("#f-by option[value=customer_id]").count() == 0
    found["customer sla"] = serious_violations(customer)
    shot(customer, "customer-sla-phone")
    customer.select_option("#language", "en")
    customer.click("form[action='/language'] button[type=submit]")
    customer.wait_for_selector("html[lang=en]", state="attached")
    assert customer.locator("svg[role=img]").first.get_attribute("aria-label") == "SLA compliance by week"
    shot(customer, "customer-sla-english")
    assert not any(found.values()), {k: v for k, v in found.items() if v}


def _total(html: str, column: str) -> int:
    """The sum of a table's column, named in either language (the browser test left the customer's in English)."""
    english = {"Соблюдено": "Met", "Нарушено": "Breached", "Всего": "Total"}[column]
    return sum(int(n) for n in re.findall(rf'<td data-label="(?:{column}|{english})">(\d+)</td>', html))


def test_dashboards_customer_reads_only_its_own_figures_whatever_it_asks(portal_stack: PortalStack,
                                                                        desk: Desk) -> None:
    customer = signed_in(portal_stack, portal_stack.customer)
    sla = customer.get("/dashboards/sla", params={"until": desk.until, "customer_id": portal_stack.other_customer_id})
    assert sla.status_code == 200 and (_total(sla.text, "Соблюдено"), _total(sla.text, "Нарушено")) == (1, 2)
    backlog = customer.get("/dashboards/backlog", params={"customer_id": portal_stack.other_customer_id})
    assert _total(backlog.text, "Всего") == 3
    hours = customer.get("/dashboards/hours").text
    assert "Acme" in hours and "Globex" not in hours
    assert customer.get("/dashboards/sla", params={"by": "customer_id"}).status_code == 400
    admin = signed_in(portal_stack, desk.admin)
    theirs = admin.get("/dashboards/backlog", params={"customer_id": portal_stack.other_customer_id})
    assert _total(theirs.text, "Всего") == 1
    everyone = signed_in(portal_stack, desk.auditor).get("/dashboards/sla", params={"until": desk.until, "by": "customer_id"})
    assert (_total(everyone.text, "Соблюдено"), _total(everyone.text, "Нарушено")) == (1, 3)
    assert "Acme" in everyone.text and "Globex" in everyone.text  # named from the directory an auditor reads


def test_dashboards_csv_is_querys_passed_through_with_the_users_token(portal_stack: PortalStack, desk: Desk) -> None:
    customer = signed_in(portal_stack, portal_stack.customer)
    got = customer.get("/dashboards/sla.csv", params={"until": desk.until, "weeks": "4"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith('attachment; filename="sla-')
    monday = dt.date.fromisoformat(desk.until) - dt.timedelta(days=dt.date.fromisoformat(desk.until).weekday())
    direct = httpx.get(portal_stack.query + "/v1/reports/sla", headers={
        **_token(portal_stack, portal_stack.customer), "Accept": "text/csv"}, params={
        "from": (monday - dt.timedelta(weeks=3)).isoformat(), "to": (monday + dt.timedelta(days=6)).isoformat(),
        "group_by": "week"})
    assert got.text == direct.text and got.text.startswith("week,met,breached,open,compliance")
    hours = signed_in(portal_stack, desk.admin).get("/dashboards/hours.csv").text
    assert portal_stack.customer_id in hours and portal_stack.other_customer_id not in hours  # budgeted only
    assert httpx.get(portal_stack.portal + "/dashboards/backlog.csv").status_code == 303  # signed out: no CSV


def test_dashboards_bad_choices_are_a_page_saying_so_never_a_500(portal_stack: PortalStack, desk: Desk) -> None:
    admin = signed_in(portal_stack, desk.admin)
    for params in ({"weeks": "7"}, {"until": "yesterday"}, {"by": "mood"}, {"until": "9999-12-31"},
                   {"until": "0001-01-02", "weeks": "52"}):
        answer = admin.get("/dashboards/sla", params=params)
        assert answer.status_code == 400 and "Traceback" not in answer.text and "message error" in answer.text
    assert admin.get("/dashboards/hours", params={"month": "2026-13"}).status_code == 400
    agent = signed_in(portal_stack, portal_stack.agent)
    assert agent.get("/dashboards/sla").status_code == 403  # not the agents' pages (CONTRACT §9)


def test_portal_clock_the_default_period_ends_in_the_week_of_the_test_clock(portal_stack: PortalStack,
                                                                           desk: Desk) -> None:
    """The SLA page without ``until`` ends its period on the test clock's day, not the wall's (CONTRACT §6)."""
    page = signed_in(portal_stack, desk.admin).get("/dashboards/sla")
    clock = httpx.get(portal_stack.intake + "/v1/admin/clock", headers=ADMIN).json()
    assert page.status_code == 200 and f'value="{dt.datetime.fromisoformat(clock["now"]).date()}"' in page.text


def test_portal_clock_the_chat_expects_an_answer_by_the_test_clocks_time(portal_stack: PortalStack,
                                                                         desk: Desk) -> None:
    """TEL-3 on the test clock: a chat opened at noon (a fortnight past the wall) expects an agent's answer
    by its reaction deadline; on the wall's time the portal would have called support away."""
    now = dt.datetime.fromisoformat(httpx.get(portal_stack.intake + "/v1/admin/clock", headers=ADMIN).json()["now"])
    noon = (now.astimezone(MOSCOW) + dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    moved = httpx.post(portal_stack.intake + "/v1/admin/clock", json={"now": noon.isoformat()}, headers=ADMIN,
                       timeout=90)
    assert moved.status_code == 200, moved.text
    login = _telemed_user(portal_stack)
    opened = httpx.post(portal_stack.intake + "/v1/tickets", headers=_token(portal_stack, login),
                        json={"subject": "Касса", "description": "Не печатает чек", "channel": "chat",
                              "details": form_details("telemed")})
    assert opened.status_code == 201, opened.text
    client, chat = signed_in(portal_stack, login), f"/chats/{opened.json()['id']}"
    said = wait_until(lambda: re.search(r"Сотрудник ответит до|Поддержка сейчас не работает",
                                        client.get(chat, params={"after": opened.headers["helpdesk-position"]}).text),
                      timeout=20, message="the chat's reaction deadline")  # set by the SLA service meanwhile
    assert said.group(0) == "Сотрудник ответит до"


def test_portal_dashboards_are_refused_to_agents_as_the_nav_hides_them(portal_stack: PortalStack) -> None:
    """CONTRACT §9: agents work the queue; the dashboards (admins, auditors, customers' users) answer them 403."""
    agent = signed_in(portal_stack, portal_stack.agent)
    for path in ("/dashboards", "/dashboards/sla", "/dashboards/backlog", "/dashboards/hours",
                 "/dashboards/backlog.csv"):
        answer = agent.get(path)
        assert answer.status_code == 403 and "Traceback" not in answer.text, path
    assert 'href="/dashboards"' not in agent.get("/tickets").text
