"""TelemedHelp's live chat (TEL-3, TEL-5) in a real headless Chromium: a customer (on a phone-sized screen)
opens a chat, an agent in a second browser context sees it in the panel beside the queue, they exchange
messages both ways — each shows on the other's open page without a reload — and the chat ends like any
ticket. Screenshots go to test-output/portal/chat/; axe-core judges every page visited."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.portal.browser import browser, serious_violations  # noqa: F401 - the fixture
from tests.portal.conftest import PASSWORD, PortalStack, signed_in
from tests.portal.test_browser import Shots, sign_in
from tests.support.processes import ADMIN_TOKEN

pytestmark = [pytest.mark.e2e]
LIVE = 2_000  # ms: a message shows on the other side's open page within a second; this is the bound
PHONE = {"viewport": {"width": 390, "height": 844}}


def _telemed_user(stack: PortalStack) -> str:
    """A TelemedHelp customer (chat and email only, TEL-5) with one user; the user's login."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=stack.intake, headers=admin, timeout=10) as client:
        made = client.post("/v1/customers", json={"name": "Telemed clinic", "email": "it@clinic.test",
                                                  "policy": "telemed"})
        assert made.status_code == 201, made.text
        login = f"clinic-{uuid.uuid4().hex[:6]}"
        user = client.post(f"/v1/customers/{made.json()['id']}/users", json={
            "name": "Clinic user", "email": "user@clinic.test", "login": login, "password": PASSWORD})
        assert user.status_code == 201, user.text
    return login


def _say(page: Any, text: str) -> float:
    """Send a chat message; the monotonic time it was sent at."""
    page.fill("#chat-form textarea[name=message]", text)
    page.click("#chat-form button[type=submit]")
    return time.monotonic()


def test_tel5_browser_chat_customer_and_agent_exchange_messages_live_both_ways(
        browser: Any, portal_stack: PortalStack) -> None:  # noqa: F811
    from playwright.sync_api import expect

    shot, found, delays = Shots("chat"), {}, []
    customer = sign_in(browser, portal_stack, _telemed_user(portal_stack), **PHONE)
    agent = sign_in(browser, portal_stack, portal_stack.agent)
    panel = agent.locator("#chat-panel")
    expect(panel.locator("h2")).to_contain_text("Открытые чаты", timeout=LIVE)
    agent.evaluate("window.portalNotReloaded = true")

    customer.get_by_role("link", name="Чат с поддержкой").click()
    customer.fill("#f-message", "Приложение выходит из учётной записи\nпосле обновления до 5.3")
    customer.locator("[name='details.version']").fill("5.3.0")
    customer.select_option("[name='details.platform']", "android")
    found["customer start"] = serious_violations(customer)
    shot(customer, "customer-start-chat-phone")
    customer.click("form[action='/chats'] button[type=submit]")
    expect(customer.locator(".chat-message.mine")).to_contain_text("выходит из учётной записи")
    expect(customer.locator(".chat-expect")).to_contain_text("MSK")  # TEL-3: when to expect the answer
    customer.evaluate("window.portalNotReloaded = true")
    found["customer chat"] = serious_violations(customer)
    shot(customer, "customer-chat-opened-phone")

    row = panel.locator("li", has_text="Приложение выходит из учётной записи")
    expect(row).to_be_visible(timeout=LIVE)  # the panel updates live, the queue page is not reloaded
    expect(row).to_contain_text("Ещё никто не ответил")
    assert agent.evaluate("window.portalNotReloaded === true"), "the queue page was reloaded"
    found["agent queue with panel"] = serious_violations(agent)
    shot(agent, "agent-queue-with-chat-panel")
    row.locator("a").click()
    expect(agent.locator(".chat-message")).to_contain_text("выходит из учётной записи")
    agent.evaluate("window.portalNotReloaded = true")

    sent = _say(agent, "Здравствуйте! На каком телефоне?")
    expect(customer.locator(".chat-message.staff", has_text="На каком телефоне?")).to_be_visible(timeout=LIVE)
    delays.append(time.monotonic() - sent)
    expect(agent.locator(".owner")).to_have_text("Ваш", timeout=LIVE)  # TEL-5: the first to answer owns it
    expect(customer.locator(".chat-expect")).to_have_count(0, timeout=LIVE)  # answered: the reaction is met
    shot(customer, "customer-got-the-answer-phone")

    sent = _say(customer, "Pixel 7, Android 14")
    expect(agent.locator(".chat-message.customer", has_text="Pixel 7")).to_be_visible(timeout=LIVE)
    delays.append(time.monotonic() - sent)
    expect(customer.locator("#f-message")).to_have_value("")  # the box is emptied for the next message
    assert customer.evaluate("window.portalNotReloaded === true"), "the customer's chat was reloaded"
    assert agent.evaluate("window.portalNotReloaded === true"), "the agent's chat was reloaded"
    found["agent chat"] = serious_violations(agent)
    shot(agent, "agent-chat-exchange")

    agent.click("button[value=accept]")
    expect(customer.locator(".chat-status .badge")).to_have_text("В работе", timeout=LIVE)
    agent.click("button[value=propose_solution]")
    expect(customer.locator("button[value=accept_solution]")).to_be_visible(timeout=LIVE)
    customer.click("button[value=accept_solution]")
    expect(customer.locator(".chat-status .badge")).to_have_text("Выполнена")
    agent.get_by_role("link", name="Очередь заявок").click()
    expect(panel.locator("h2")).to_be_visible()
    expect(panel.locator("li", has_text="Приложение выходит")).to_have_count(0)  # a closed chat leaves the panel
    shot(customer, "customer-chat-done-phone")
    customer.get_by_role("link", name="Открыть как заявку").click()  # the same ticket as a request, and back
    customer.get_by_role("link", name="Открыть чат").click()
    expect(customer.locator(".chat-message.staff", has_text="На каком телефоне?")).to_be_visible()
    assert not any(found.values()), {k: v for k, v in found.items() if v}
    print(f"chat message delays (s): {[round(d, 3) for d in delays]}")


def test_portal_kept_answers_are_not_given_to_a_forged_token_naming_the_same_user(portal_stack: PortalStack) -> None:
    """The portal reads a token's claims without verifying them (the APIs do): what it keeps of a user's
    answers (the chat form's catalogue) must not be shown to a cookie that only names that user's id."""
    client = signed_in(portal_stack, _telemed_user(portal_stack))
    assert client.get("/chats/new").status_code == 200  # the catalogue is now kept for this user
    header, claims, _signature = client.cookies["helpdesk_session"].split(".")
    forged = httpx.Client(base_url=portal_stack.portal, timeout=15,
                          cookies={"helpdesk_session": f"{header}.{claims}.forged"})
    answer = forged.get("/chats/new")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?expired=1"
