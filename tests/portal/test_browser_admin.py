"""Issue #13, admins, in a real headless Chromium: an admin adds a user to a customer, blocks another
whose open portal session is refused at its next click (the login page, not an error), and re-dates a
release a ticket is bound to (IMC-9). Screenshots under test-output/portal/admin/, axe-core's verdict."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from tests.portal.admin_support import call, register
from tests.portal.browser import browser, serious_violations  # noqa: F401 - the fixture
from tests.portal.conftest import PASSWORD, PortalStack
from tests.portal.test_browser import Shots, sign_in
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def test_admin_blocks_a_user_whose_open_portal_session_is_refused_at_its_next_click(
        browser: Any, portal_stack: PortalStack) -> None:  # noqa: F811
    from playwright.sync_api import expect

    shot, found = Shots("admin"), {}
    customer = sign_in(browser, portal_stack, portal_stack.customer)
    customer.click("nav a[href='/account']")  # a page that does not poll: the click below is its next request
    customer.wait_for_url("**/account")
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

    admin.locator(f"tr[data-user='{portal_stack.customer}'] a").click()  # the admin blocks the signed-in user
    admin.fill("#f-reason", "Нарушение регламента")
    found["user"] = serious_violations(admin)
    admin.click("button[value=block]")
    expect(admin.locator("h1")).to_have_text("Подтвердите")
    found["confirm"] = serious_violations(admin)
    shot(admin, "block-confirm")
    admin.click("form.confirm button[type=submit]")
    expect(admin.locator("#messages")).to_contain_text("Пользователь заблокирован")
    expect(admin.locator(f"tr[data-user='{portal_stack.customer}']")).to_contain_text("Заблокирован")
    expect(admin.locator(".directory-history")).to_contain_text("Нарушение регламента")
    shot(admin, "user-blocked")

    session = next(c["value"] for c in customer.context.cookies() if c["name"] == "helpdesk_session")
    wait_until(lambda: httpx.get(portal_stack.query + "/v1/tickets", headers={"Authorization": f"Bearer {session}"}
                                 ).status_code == 401, message="query refuses the blocked user's token")
    customer.click("nav a[href='/tickets']")  # the blocked user's next click
    customer.wait_for_url("**/login?expired=1")
    expect(customer.locator("#f-login")).to_be_visible()
    assert "Что-то пошло не так" not in customer.content()
    shot(customer, "blocked-user-at-login")

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
