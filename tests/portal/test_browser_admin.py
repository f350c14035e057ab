"""Issue #13, admins: the directory (customers, their users, staff) and releases (IMC-9) in the portal,
against the desk and the portal as real processes.

Over HTTP: every change confirmed and in the customer's history, destructive ones only once confirmed,
the APIs' refusals as messages by field, CSRF, anyone but an admin refused in words. In a real headless
Chromium (ONE test): an admin adds a user to a customer and blocks them, whose open portal session is
refused at its next click (the login page, not an error), then re-dates a release a ticket is bound to;
screenshots under test-output/portal/admin/, axe-core's verdict on every page visited. Both kinds share
this module's stack: a second one would add about a minute to the suite.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.portal.admin_support import call, read, register, token, user_named
from tests.portal.browser import browser, serious_violations  # noqa: F401 - the fixture
from tests.portal.conftest import PASSWORD, PortalStack, csrf_token, signed_in
from tests.portal.test_browser import Shots, sign_in
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
ADMIN_URLS = ("/admin/customers", "/admin/staff", "/admin/releases", "/admin/users/x", "/admin/releases/x")


@pytest.fixture(scope="module")
def admin(portal_stack: PortalStack) -> httpx.Client:
    return signed_in(portal_stack, register(portal_stack))


def post(client: httpx.Client, url: str, **form: str) -> httpx.Response:
    """A form sent as from one of the admins' pages (with the page's CSRF token)."""
    return client.post(url, data={**form, "_csrf_token": csrf_token(client.get("/admin/releases").text)})


def new_customer(admin: httpx.Client, policy: str = "medis", **extra: str) -> str:
    answer = post(admin, "/admin/customers", name=f"Initech {uuid.uuid4().hex[:4]}", email="it@initech.test",
                  policy=policy, monthly_hours="40", paid_support="on", active="on", **extra)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("?done=customer_registered")
    return answer.headers["location"].split("/")[-1].split("?")[0]


def new_user(admin: httpx.Client, customer_id: str) -> str:
    login = f"user-{uuid.uuid4().hex[:6]}"
    answer = post(admin, f"/admin/customers/{customer_id}/users", name="Peter Gibbons", email="peter@initech.test",
                  login=login, password=PASSWORD, phone="+7 900 000-00-00")
    assert answer.status_code == 303 and answer.headers["location"].endswith("done=user_registered"), answer.text
    return login


def test_admin_pages_are_refused_to_non_admins_in_words_and_only_admins_see_them_in_the_nav(
        portal_stack: PortalStack, admin: httpx.Client) -> None:
    for login in (portal_stack.agent, portal_stack.customer, register(portal_stack, "auditor")):
        client = signed_in(portal_stack, login)
        page = client.get("/tickets").text  # the directory and releases: admins only (auditors read policies)
        assert "/admin/customers" not in page and "/admin/releases" not in page and "/admin/staff" not in page
        for url in ADMIN_URLS:
            refused = client.get(url)
            assert refused.status_code == 403, (login, url)
            assert "Эта страница — для администраторов." in refused.text and "Traceback" not in refused.text
        assert client.post("/admin/customers", data={"name": "x"}).status_code == 403
    listed = admin.get("/tickets").text
    assert 'href="/admin/customers"' in listed and 'href="/admin/releases"' in listed


def test_admin_forms_without_their_csrf_token_are_refused(portal_stack: PortalStack, admin: httpx.Client) -> None:
    answer = admin.post("/admin/customers", data={"name": "Forged Ltd", "email": "x@forged.test", "policy": "medis"})
    assert answer.status_code == 403 and "Traceback" not in answer.text
    assert "Forged Ltd" not in admin.get("/admin/customers").text


def test_admin_registers_a_customer_changes_its_contract_and_the_history_shows_each_change(
        portal_stack: PortalStack, admin: httpx.Client) -> None:
    customer_id = new_customer(admin, language="en")
    page = admin.get(f"/admin/customers/{customer_id}?done=customer_registered")
    assert "Клиент зарегистрирован." in page.text and 'value="40.0"' in page.text
    assert '<option value="en" selected>' in page.text
    changed = post(admin, f"/admin/customers/{customer_id}", policy="medis", monthly_hours="60", paid_support="on",
                   active="on", language="en")
    assert changed.headers["location"].endswith("done=customer_changed")
    page = admin.get(changed.headers["location"]).text
    assert "Изменения клиента сохранены." in page
    history = page[page.index('id="history-title"'):]
    assert "Клиент зарегистрирован" in history and "Договор изменён" in history and "Бюджет часов: 60" in history
    assert "Язык по умолчанию изменён" in history
    # ending the contract blocks the customer's users (MED-4): confirmed first
    asked = post(admin, f"/admin/customers/{customer_id}", policy="medis", monthly_hours="60", language="en")
    assert asked.status_code == 200 and "Завершить договор" in asked.text and 'name="confirmed"' in asked.text
    assert read(portal_stack, f"/v1/customers/{customer_id}")["contract"]["active"] is True
    ended = admin.post(f"/admin/customers/{customer_id}", data={
        "policy": "medis", "monthly_hours": "60", "language": "en", "confirmed": "1",
        "_csrf_token": csrf_token(asked.text)})
    assert ended.status_code == 303 and ended.headers["location"].endswith("done=customer_changed")
    assert read(portal_stack, f"/v1/customers/{customer_id}")["contract"]["active"] is False


def test_admin_blocks_and_deactivates_a_user_only_once_confirmed_and_the_customers_history_shows_it(
        portal_stack: PortalStack, admin: httpx.Client) -> None:
    customer_id = new_customer(admin)
    login = new_user(admin, customer_id)
    assert token(portal_stack, login).status_code == 200
    user_id = user_named(portal_stack, customer_id, login)["id"]
    asked = post(admin, f"/admin/users/{user_id}/block", reason="Нарушил регламент")
    assert asked.status_code == 200 and "Заблокировать Peter Gibbons?" in asked.text
    assert user_named(portal_stack, customer_id, login)["blocked"] is False  # nothing changed yet
    blocked = admin.post(f"/admin/users/{user_id}/block", data={"reason": "Нарушил регламент", "confirmed": "1",
                                                                "_csrf_token": csrf_token(asked.text)})
    assert blocked.headers["location"] == f"/admin/customers/{customer_id}?done=user_blocked"
    page = admin.get(blocked.headers["location"]).text
    assert "Пользователь заблокирован: его сеансы завершены." in page
    assert re.search(rf'data-user="{login}">.*?Заблокирован', page, re.S)
    history = page[page.index('id="history-title"'):]
    assert "Пользователь заблокирован" in history and "Нарушил регламент" in history and "Peter Gibbons" in history
    assert token(portal_stack, login).status_code == 403  # CONTRACT §2: a blocked account
    assert post(admin, f"/admin/users/{user_id}/unblock").headers["location"].endswith("done=user_unblocked")
    assert token(portal_stack, login).status_code == 200
    assert post(admin, f"/admin/users/{user_id}/explode").status_code == 404
    asked = post(admin, f"/admin/users/{user_id}/deactivate")
    assert "Деактивировать Peter Gibbons?" in asked.text
    assert user_named(portal_stack, customer_id, login)["active"] is True
    admin.post(f"/admin/users/{user_id}/deactivate", data={"confirmed": "1", "_csrf_token": csrf_token(asked.text)})
    assert user_named(portal_stack, customer_id, login)["active"] is False
    assert "Пользователь деактивирован" in admin.get(f"/admin/customers/{customer_id}").text


def test_admin_corrects_a_users_contacts_and_sets_their_password(portal_stack: PortalStack,
                                                                  admin: httpx.Client) -> None:
    customer_id = new_customer(admin)
    login = new_user(admin, customer_id)
    user_id = user_named(portal_stack, customer_id, login)["id"]
    changed = post(admin, f"/admin/users/{user_id}", name="Peter G.", email="pg@initech.test", phone="", language="en")
    assert changed.headers["location"].endswith("done=user_changed")
    found = user_named(portal_stack, customer_id, login)
    assert (found["name"], found["email"], found["phone"], found["language"]) == ("Peter G.", "pg@initech.test",
                                                                                  None, "en")
    reset = post(admin, f"/admin/users/{user_id}/password", password="a-new-secret-42")
    assert reset.headers["location"].endswith("done=password_set")
    assert "Пароль установлен: сеансы пользователя завершены." in admin.get(reset.headers["location"]).text
    assert token(portal_stack, login).status_code == 401 and token(portal_stack, login, "a-new-secret-42").is_success
    history = admin.get(f"/admin/customers/{customer_id}").text
    assert "Контакты изменены" in history and "Пароль установлен администратором" in history


def test_admin_registers_staff_and_the_apis_refusals_are_messages_by_field(portal_stack: PortalStack,
                                                                           admin: httpx.Client) -> None:
    login = f"auditor-{uuid.uuid4().hex[:6]}"
    made = post(admin, "/admin/staff", name="Ann Auditor", email=f"{login}@desk.test", login=login,
                password=PASSWORD, role="auditor", department="Audit")
    assert made.status_code == 303 and made.headers["location"].endswith("done=staff_registered")
    assert "Сотрудник зарегистрирован." in admin.get(made.headers["location"]).text
    assert login in admin.get("/admin/staff").text and token(portal_stack, login).is_success
    again = post(admin, "/admin/staff", name="Ann Again", email=f"{login}@desk.test", login=login,
                 password=PASSWORD, role="auditor")
    assert again.status_code == 200 and 'class="message error"' in again.text and "Ann Again" in again.text
    bad = post(admin, "/admin/customers", name="No Policy Ltd", email="not-an-address", policy="no-such-policy")
    assert bad.status_code == 200 and "Проверьте заполнение формы" in bad.text and 'aria-invalid="true"' in bad.text
    assert "No Policy Ltd" in bad.text  # the form keeps what was typed
    past = post(admin, "/admin/releases", name="Too late", kind="scheduled", date="2001-01-01")
    assert past.status_code == 200 and 'id="e-date"' in past.text and "Traceback" not in past.text


def test_imc9_admin_plans_a_release_re_dates_it_and_sees_the_tickets_bound_to_it(
        portal_stack: PortalStack, admin: httpx.Client) -> None:
    soon = dt.date.today() + dt.timedelta(days=30)
    planned = post(admin, "/admin/releases", name="4.2", kind="scheduled", date=soon.isoformat())
    assert planned.status_code == 303 and planned.headers["location"].endswith("done=release_planned")
    release_id = planned.headers["location"].split("/")[-1].split("?")[0]
    bound, loose = (_ticket(portal_stack, subject) for subject in ("Отчёт не строится", "Не связана"))
    call(portal_stack, portal_stack.agent, "PATCH", f"{portal_stack.intake}/v1/tickets/{bound['id']}",
         {"release": release_id})
    listed = _bound(portal_stack, release_id)
    assert [t["id"] for t in listed] == [bound["id"]]  # query's ?release_id= (IMC-9)
    page = admin.get(f"/admin/releases/{release_id}").text
    assert bound["number"] in page and "Отчёт не строится" in page and "Не связана" not in page
    later = soon + dt.timedelta(days=14)
    redated = post(admin, f"/admin/releases/{release_id}", name="4.2", date=later.isoformat())
    assert redated.status_code == 303 and "done=release_changed" in redated.headers["location"]
    page = admin.get(redated.headers["location"]).text
    assert "Дата релиза изменена" in page and later.isoformat() in page and bound["number"] in page
    assert later.isoformat() in admin.get("/admin/releases").text
    assert loose["id"] not in page


def test_imc9_query_lists_the_tickets_an_sla_target_binds_to_a_release_without_a_promise(
        portal_stack: PortalStack, admin: httpx.Client) -> None:
    customer_id = new_customer(admin, policy="imc")
    login = new_user(admin, customer_id)
    ticket = call(portal_stack, login, "POST", f"{portal_stack.intake}/v1/tickets",
                  {"subject": "Ошибка в отчёте", "description": "x"})
    agent_id = next(p["id"] for p in read(portal_stack, "/v1/staff", limit=200)["items"]
                    if p["login"] == portal_stack.agent)
    url = f"{portal_stack.intake}/v1/tickets/{ticket['id']}"
    call(portal_stack, portal_stack.agent, "PATCH", url, {  # IMC-8: error/high is due at the next unscheduled release
        "category": "error", "priority": "high", "responsible_id": agent_id,
        "planned_date": (dt.date.today() + dt.timedelta(days=10)).isoformat()})
    call(portal_stack, portal_stack.agent, "POST", f"{url}/actions/accept", {})
    release = call(portal_stack, portal_stack.agent, "POST", f"{portal_stack.intake}/v1/releases", {
        "name": "hotfix", "kind": "unscheduled", "date": (dt.date.today() + dt.timedelta(days=5)).isoformat()})
    assert [t["id"] for t in _bound(portal_stack, release["id"])] == [ticket["id"]]
    assert ticket["number"] in admin.get(f"/admin/releases/{release['id']}").text


def _ticket(stack: PortalStack, subject: str) -> dict[str, Any]:
    return call(stack, stack.customer, "POST", f"{stack.intake}/v1/tickets", {"subject": subject, "description": "x"})


def _bound(stack: PortalStack, release_id: str) -> list[dict[str, Any]]:
    return wait_until(lambda: call(stack, stack.agent, "GET", f"{stack.query}/v1/tickets",
                                   release_id=release_id)["items"], message="the bound ticket in query")


def test_admin_blocks_a_user_whose_open_portal_session_is_refused_at_its_next_click(
        browser: Any, portal_stack: PortalStack) -> None:  # noqa: F811
    from playwright.sync_api import expect

    shot, found = Shots("admin"), {}
    admin = sign_in(browser, portal_stack, register(portal_stack))
    admin.click("nav a[href='/admin/customers']")
    admin.wait_for_url("**/admin/customers")
    found["customers"] = serious_violations(admin)
    shot(admin, "customers")
    admin.click(f"a[href='/admin/customers/{portal_stack.customer_id}']")

    login = f"new-{uuid.uuid4().hex[:6]}"  # the admin adds a user to the customer
    form = admin.locator("form[action$='/users']")
    form.locator("#f-name").fill("Новый сотрудник")
    form.locator("#f-email").fill("new@acme.test")
    form.locator("#f-login").fill(login)
    form.locator("#f-password").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(admin.locator("#messages")).to_contain_text("Пользователь добавлен.")
    expect(admin.locator(f"tr[data-user='{login}']")).to_contain_text("Активен")
    expect(admin.locator(".directory-history")).to_contain_text("Пользователь зарегистрирован")
    found["customer"] = serious_violations(admin)
    shot(admin, "user-added")

    user = sign_in(browser, portal_stack, login)  # the new user signs in, in a browser of their own
    user.click("nav a[href='/account']")  # a page that does not poll: the click below is its next request
    user.wait_for_url("**/account")
    admin.locator(f"tr[data-user='{login}'] a").click()  # the admin blocks them
    admin.fill("#f-reason", "Нарушение регламента")
    found["user"] = serious_violations(admin)
    admin.click("button[value=block]")
    expect(admin.locator("h1")).to_have_text("Подтвердите")
    found["confirm"] = serious_violations(admin)
    shot(admin, "block-confirm")
    admin.click("form.confirm button[type=submit]")
    expect(admin.locator("#messages")).to_contain_text("Пользователь заблокирован")
    expect(admin.locator(f"tr[data-user='{login}']")).to_contain_text("Заблокирован")
    expect(admin.locator(".directory-history")).to_contain_text("Нарушение регламента")
    shot(admin, "user-blocked")

    session = next(c["value"] for c in user.context.cookies() if c["name"] == "helpdesk_session")
    wait_until(lambda: httpx.get(portal_stack.query + "/v1/tickets", headers={"Authorization": f"Bearer {session}"}
                                 ).status_code == 401, message="query refuses the blocked user's token")
    user.click("nav a[href='/tickets']")  # the blocked user's next click
    user.wait_for_url("**/login?expired=1")
    expect(user.locator("#f-login")).to_be_visible()
    assert "Что-то пошло не так" not in user.content()
    shot(user, "blocked-user-at-login")

    soon, later = dt.date.today() + dt.timedelta(days=20), dt.date.today() + dt.timedelta(days=41)
    ticket = call(portal_stack, portal_stack.other_customer, "POST", f"{portal_stack.intake}/v1/tickets",
                  {"subject": "Ждём обновления", "description": "Исправление в следующем релизе"})
    admin.click("nav.admin-nav a[href='/admin/staff']")
    admin.wait_for_url("**/admin/staff")
    found["staff"] = serious_violations(admin)
    admin.click("nav a[href='/admin/releases']")
    admin.wait_for_url("**/admin/releases")
    admin.fill("#f-name", "5.0")
    admin.fill("#f-date", soon.isoformat())
    admin.click("form[action='/admin/releases'] button[type=submit]")
    expect(admin.locator("#messages")).to_contain_text("Релиз запланирован.")
    release_id = admin.url.split("/")[-1].split("?")[0]
    call(portal_stack, portal_stack.agent, "PATCH", f"{portal_stack.intake}/v1/tickets/{ticket['id']}",
         {"release": release_id})
    admin.fill("#f-date", later.isoformat())
    admin.click("form[action^='/admin/releases/'] button[type=submit]")
    expect(admin.locator("#messages")).to_contain_text("Дата релиза изменена")
    expect(admin.locator(".release-date")).to_have_text(later.isoformat())
    expect(admin.locator("#bound-tickets")).to_contain_text("Ждём обновления")
    found["release"] = serious_violations(admin)
    shot(admin, "release-re-dated")
    assert not any(found.values()), {k: v for k, v in found.items() if v}
