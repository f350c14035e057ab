"""The portal's own routes over HTTP, against the desk and the portal as real processes: sign-in, CSRF,
security headers, API refusals shown as messages, an expired session sent to the login page."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest

from tests.portal.conftest import PASSWORD, PortalStack, csrf_token, signed_in
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def test_portal_health_ready_and_metrics(portal_stack: PortalStack) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(portal_stack.portal + path).status_code == 200, path


def test_portal_login_keeps_the_token_in_an_httponly_samesite_cookie(portal_stack: PortalStack) -> None:
    client = httpx.Client(base_url=portal_stack.portal)
    page = client.get("/login")
    answer = client.post("/login", data={"login": portal_stack.customer, "password": PASSWORD,
                                         "_csrf_token": csrf_token(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("helpdesk_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session.replace("Lax", "lax")
    assert client.get("/tickets").status_code == 200


def test_portal_wrong_password_is_a_message_on_the_login_page(portal_stack: PortalStack) -> None:
    client = httpx.Client(base_url=portal_stack.portal)
    page = client.get("/login")
    answer = client.post("/login", data={"login": portal_stack.customer, "password": "wrong",
                                         "_csrf_token": csrf_token(page.text)})
    assert answer.status_code == 200 and "Неверный логин или пароль" in answer.text
    assert "helpdesk_session" not in answer.headers.get("set-cookie", "")


def test_portal_csrf_a_form_without_its_token_is_refused(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.customer)
    answer = client.post("/tickets", data={"subject": "Forged", "description": "From another site"})
    assert answer.status_code == 403
    assert "Traceback" not in answer.text and "<html" in answer.text
    listed = client.get("/tickets").text
    assert "Forged" not in listed


def test_portal_pages_carry_a_strict_content_security_policy_and_no_inline_script(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.customer)
    page = client.get("/tickets")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), "inline script"
    assert not re.search(r"\son[a-z]+=", page.text), "inline event handler"


def test_portal_api_errors_are_messages_never_a_stack_trace(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.customer)
    token = csrf_token(client.get("/tickets/new").text)
    refused = client.post("/tickets", data={"subject": "", "description": "", "_csrf_token": token},
                          files={"file": ("", b"", "application/octet-stream")})
    assert refused.status_code == 200 and "Проверьте заполнение формы" in refused.text, refused.text[refused.text.find("messages"):][:600]
    missing = client.get("/tickets/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "Не найдено" in missing.text
    bad_filter = client.get("/tickets", params={"status": "on_fire"})
    assert bad_filter.status_code in (400, 422) and "Traceback" not in bad_filter.text
    assert "class=\"message error\"" in bad_filter.text


def test_portal_expired_session_goes_to_the_login_page(portal_stack: PortalStack) -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"sub": "x", "role": "customer", "exp": 1}).encode()).decode()
    client = httpx.Client(base_url=portal_stack.portal, cookies={"helpdesk_session": f"e30.{claims}.sig"})
    answer = client.get("/tickets")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?expired=1"
    assert "Сеанс завершён" in client.get("/login?expired=1").text
    forged = base64.urlsafe_b64encode(json.dumps({"sub": "x", "role": "agent", "exp": 4102444800}).encode()).decode()
    refused = httpx.Client(base_url=portal_stack.portal, cookies={"helpdesk_session": f"e30.{forged}.sig"})
    answer = refused.get("/tickets", headers={"HX-Request": "true"})
    assert answer.headers.get("hx-redirect") == "/login?expired=1"


def test_portal_language_switch_to_english(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.customer)
    page = client.get("/tickets")
    assert "Наши заявки" in page.text
    client.post("/language", data={"language": "en", "_csrf_token": csrf_token(page.text)})
    assert "Our requests" in client.get("/tickets").text


def test_portal_agent_registers_a_phone_request_triages_it_and_logs_time(portal_stack: PortalStack) -> None:
    agent = signed_in(portal_stack, portal_stack.agent)
    form = agent.get("/tickets/new", params={"customer_id": portal_stack.customer_id}).text
    requester = re.search(r'<option value="([^"]+)" >Acme user', form)
    assert requester and 'name="channel"' in form, form
    filed = agent.post("/tickets", data={"customer_id": portal_stack.customer_id, "subject": "Звонок: не входит",
                                         "requester_id": requester.group(1), "channel": "phone",
                                         "description": "Позвонила регистратура", "_csrf_token": csrf_token(form)})
    assert filed.status_code == 303, filed.text
    page = agent.get(filed.headers["location"])
    assert "Звонок: не входит" in page.text and 'value="accept"' in page.text
    ticket = filed.headers["location"].split("?")[0]
    token = csrf_token(page.text)
    triaged = agent.post(f"{ticket}/triage", data={"category": "error", "priority": "high", "was_priority": "normal",
                                                   "_csrf_token": token}, follow_redirects=True)
    assert triaged.status_code == 200 and "<option value=\"high\" selected>" in triaged.text
    logged = agent.post(f"{ticket}/time", data={"minutes": "25", "billable": "on", "_csrf_token": token},
                        follow_redirects=True)
    assert logged.status_code == 200 and "Затрачено: 25 мин" in logged.text
    queue = agent.get("/tickets", params={"priority": "high", "q": "Звонок"})
    assert "Звонок: не входит" in queue.text
    mine = signed_in(portal_stack, portal_stack.customer).get("/tickets")
    assert "Звонок: не входит" in mine.text


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_portal_language_is_the_users_own_read_at_login_and_saved_by_the_switch(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.customer)
    user_id = _claims(client.cookies["helpdesk_session"])["sub"]
    page = client.get("/tickets")
    client.post("/language", data={"language": "en", "_csrf_token": csrf_token(page.text)})
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert httpx.get(f"{portal_stack.intake}/v1/users/{user_id}", headers=admin).json()["language"] == "en"
    elsewhere = signed_in(portal_stack, portal_stack.customer)  # another browser: no language cookie of its own
    assert elsewhere.cookies["helpdesk_lang"] == "en" and "Our requests" in elsewhere.get("/tickets").text
    page = elsewhere.get("/tickets")
    elsewhere.post("/language", data={"language": "ru", "_csrf_token": csrf_token(page.text)})
    assert httpx.get(f"{portal_stack.intake}/v1/users/{user_id}", headers=admin).json()["language"] == "ru"
    assert "Наши заявки" in signed_in(portal_stack, portal_stack.customer).get("/tickets").text


def test_portal_password_change_keeps_the_session_on_the_new_token(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.other_customer)
    old = client.cookies["helpdesk_session"]
    token = csrf_token(client.get("/account").text)
    changed = client.post("/account/password", data={"current": PASSWORD, "new": "portal-secret-2",
                                                     "_csrf_token": token})
    assert changed.status_code == 200 and "Пароль изменён" in changed.text, changed.text
    new = client.cookies["helpdesk_session"]
    assert new != old and _claims(new)["sub"] == _claims(old)["sub"]
    revoked = httpx.get(f"{portal_stack.query}/v1/tickets", headers={"Authorization": f"Bearer {old}"})
    assert revoked.status_code == 401
    assert client.get("/tickets").status_code == 200  # still signed in, on the new token
    back = client.post("/account/password", data={"current": "portal-secret-2", "new": PASSWORD,
                                                  "_csrf_token": csrf_token(client.get("/account").text)})
    assert "Пароль изменён" in back.text


def test_portal_token_refresh_renews_a_session_near_its_expiry(portal_stack: PortalStack) -> None:
    # a second portal on the same desk that counts every token as near expiry (the TTL is an hour)
    eager = portal_stack.services.start("portal", "serve", env={
        "HELPDESK_PORTAL_SECURE_COOKIES": "false", "HELPDESK_PORTAL_SECRET": "test-portal-secret",
        "HELPDESK_PORTAL_REFRESH_BEFORE_SECONDS": "7200"})
    try:
        stack = PortalStack(**{**portal_stack.__dict__, "portal": eager.url or ""})
        client = signed_in(stack, portal_stack.customer)
        first = client.cookies["helpdesk_session"]
        page = client.get("/tickets")
        renewed = next(c for c in page.headers.get_list("set-cookie") if c.startswith("helpdesk_session="))
        token = renewed.split(";")[0].split("=", 1)[1]
        assert _claims(token)["sub"] == _claims(first)["sub"] and _claims(token)["iat"] >= _claims(first)["iat"]
        assert httpx.get(f"{portal_stack.query}/v1/tickets",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200
        calm = signed_in(portal_stack, portal_stack.customer).get("/tickets")  # the usual portal: an hour is far
        assert not any(c.startswith("helpdesk_session=") for c in calm.headers.get_list("set-cookie"))
    finally:
        eager.terminate()


def test_portal_new_request_form_is_the_one_the_customers_policy_offers(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.customer)
    form = client.get("/tickets/new").text
    assert '<optgroup label="5. Сопровождение (доп. платные услуги) — сверх договора">' in form, form
    assert '<option value="6.3" >6.3. Телефонная консультация</option>' in form
    assert 'value="high"' in form and 'value="urgent"' not in form  # MED-2: normal and high only
    details = client.get("/tickets/new/details", params={"category": "error"}).text
    assert "Шаги воспроизведения" in details and 'name="details.steps"' in details and "required" in details
    token = csrf_token(form)
    data = {"subject": "Не печатается рецепт", "description": "С утра", "category": "error", "service": "6.3",
            "priority": "high", "details.steps": "Открыть рецепт, нажать печать", "_csrf_token": token}
    refused = client.post("/tickets", data=data)
    assert refused.status_code == 200 and 'id="e-details.examples"' in refused.text, refused.text
    assert 'value="Открыть рецепт, нажать печать"' not in refused.text and "Открыть рецепт, нажать печать" in refused.text
    filed = client.post("/tickets", data={**data, "details.examples": "Рецепт 42"})
    assert filed.status_code == 303, filed.text
    path, after = filed.headers["location"].split("?after=")
    headers = {"Authorization": f"Bearer {client.cookies['helpdesk_session']}", "Helpdesk-Min-Position": after}
    read = httpx.get(f"{portal_stack.query}/v1{path}", headers=headers)
    assert read.json()["details"] == {"steps": "Открыть рецепт, нажать печать", "examples": "Рецепт 42"}
    assert read.json()["service"] == "6.3" and read.json()["priority"] == "high"


def test_portal_med12_customer_sees_this_months_norm_hours_on_its_requests_page(portal_stack: PortalStack) -> None:
    client = signed_in(portal_stack, portal_stack.other_customer)
    assert "Норма часов" not in client.get("/tickets").text  # no budget in the contract yet
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    changed = httpx.patch(f"{portal_stack.intake}/v1/customers/{portal_stack.other_customer_id}", headers=admin,
                          json={"contract": {"monthly_hours": 10}})
    assert changed.status_code == 200, changed.text
    token = client.cookies["helpdesk_session"]
    opened = httpx.post(f"{portal_stack.intake}/v1/tickets", headers={"Authorization": f"Bearer {token}"},
                        json={"subject": "Плановый выезд", "description": "Нужен выезд", "service": "6.1"})
    agent = signed_in(portal_stack, portal_stack.agent).cookies["helpdesk_session"]
    planned = httpx.patch(f"{portal_stack.intake}/v1/tickets/{opened.json()['id']}",
                          headers={"Authorization": f"Bearer {agent}"}, json={"planned_minutes": 120})
    accepted = httpx.post(f"{portal_stack.intake}/v1/tickets/{opened.json()['id']}/actions/accept",
                          headers={"Authorization": f"Bearer {agent}"}, json={})
    assert planned.status_code == 200 and accepted.status_code == 200, accepted.text
    caught_up = httpx.get(f"{portal_stack.query}/v1/reports/hours", headers={
        "Authorization": f"Bearer {token}", "Helpdesk-Min-Position": accepted.headers["helpdesk-position"]})
    assert caught_up.status_code == 200 and caught_up.json()["items"][0]["budget_minutes"] == 600, caught_up.text
    page = client.get("/tickets").text
    hours = page[page.index('class="card hours"'):page.index("</section>", page.index('class="card hours"'))]
    assert "Норма часов в этом месяце" in hours and "<dt>По договору</dt><dd>10 ч</dd>" in hours, hours
    assert "<dt>Запланировано</dt><dd>2 ч</dd>" in hours and "<dt>Осталось</dt><dd>8 ч</dd>" in hours
    assert "Норма часов" not in signed_in(portal_stack, portal_stack.agent).get("/tickets").text


def _telemed_ticket(stack: PortalStack) -> str:
    """A TelemedHelp customer (it defers for reasons, TEL-9) with a chat request carrying its details (TEL-7)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    customer = httpx.post(f"{stack.intake}/v1/customers", headers=admin,
                          json={"name": "Telemed clinic", "email": "it@tele.test", "policy": "telemed"}).json()
    login = f"tele-{customer['id'][:6]}"
    httpx.post(f"{stack.intake}/v1/customers/{customer['id']}/users", headers=admin, json={
        "name": "Tele user", "email": "user@tele.test", "login": login, "password": PASSWORD}).raise_for_status()
    token = signed_in(stack, login).cookies["helpdesk_session"]
    opened = httpx.post(f"{stack.intake}/v1/tickets", headers={"Authorization": f"Bearer {token}"}, json={
        "subject": "Видео не идёт", "description": "Чёрный экран", "channel": "chat",
        "details": {"version": "1.4", "platform": "ios"}})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def test_portal_workspace_defers_for_a_reason_resumes_sets_third_party_release_and_details(
        portal_stack: PortalStack) -> None:
    ticket_id = _telemed_ticket(portal_stack)
    agent = signed_in(portal_stack, portal_stack.agent)
    auth = {"Authorization": f"Bearer {agent.cookies['helpdesk_session']}"}
    release = httpx.post(f"{portal_stack.intake}/v1/releases", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         json={"name": "4.2", "kind": "scheduled", "date": "2030-02-01"})
    assert release.status_code == 201, release.text
    # the release list is kept for 5 s per user (bench/portal.py): a new release shows within that
    def with_release() -> str | None:
        text = agent.get(f"/tickets/{ticket_id}").text
        return text if f'value="{release.json()["id"]}"' in text else None

    page = wait_until(with_release, timeout=10, interval=0.5)
    assert '<option value="cannot_reproduce">Не удалось воспроизвести</option>' in page, page
    assert 'name="details.version"' in page and "1.4" in page
    token = csrf_token(page)
    deferred = agent.post(f"/tickets/{ticket_id}/actions/defer", data={"reason": "cannot_reproduce",
                                                                       "_csrf_token": token}, follow_redirects=True)
    assert 'value="resume"' in deferred.text and "Отложена" in deferred.text, deferred.text
    resumed = agent.post(f"/tickets/{ticket_id}/actions/resume", data={"_csrf_token": token}, follow_redirects=True)
    assert "В работе" in resumed.text
    agent.post(f"/tickets/{ticket_id}/third-party", data={"party": "Оператор связи", "note": "Канал",
                                                         "_csrf_token": token})
    agent.post(f"/tickets/{ticket_id}/triage", data={"release": release.json()["id"], "was_release": "",
                                                    "_csrf_token": token})
    saved = agent.post(f"/tickets/{ticket_id}/details", data={
        "details.version": "1.5", "was_details.version": "1.4", "type_details.version": "text",
        "details.platform": "ios", "was_details.platform": "ios", "_csrf_token": token}, follow_redirects=True)
    assert "Ждём третью сторону" in saved.text and "Оператор связи" in saved.text
    read = httpx.get(f"{portal_stack.query}/v1/tickets/{ticket_id}", headers={
        **auth, "Helpdesk-Min-Position": saved.url.params["after"]}).json()
    assert read["details"] == {"version": "1.5", "platform": "ios"} and read["release"] == release.json()["id"]
    assert read["third_party"]["party"] == "Оператор связи"
    cleared = agent.post(f"/tickets/{ticket_id}/third-party", data={"clear": "1", "_csrf_token": token},
                         follow_redirects=True)
    assert "Ждём третью сторону" not in cleared.text


def _timeline(page: str) -> str:
    found = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert found, page
    return found.group(1)


def test_portal_timeline_shows_events_and_actors_in_words_and_an_attachment_only_comment_without_filler(
        portal_stack: PortalStack) -> None:
    agent = signed_in(portal_stack, portal_stack.agent)
    form = agent.get("/tickets/new", params={"customer_id": portal_stack.customer_id}).text
    requester = re.search(r'<option value="([^"]+)" >Acme user', form)
    assert requester, form
    filed = agent.post("/tickets", data={"customer_id": portal_stack.customer_id, "subject": "Хронология словами",
                                         "requester_id": requester.group(1), "channel": "phone",
                                         "description": "Звонок", "_csrf_token": csrf_token(form)})
    ticket = filed.headers["location"].split("?")[0]
    token = csrf_token(agent.get(ticket).text)
    agent.post(f"{ticket}/comments", data={"body": "", "visibility": "public", "_csrf_token": token},
               files={"file": ("screen.png", b"\x89PNG\r\n\x1a\n", "image/png")})
    accepted = agent.post(f"{ticket}/actions/accept", data={"_csrf_token": token}, follow_redirects=True)
    assert accepted.status_code == 200, accepted.text
    ru = accepted.text
    assert "Attached:" not in ru and 'Файл: <a href' in ru and "screen.png" in ru, ru
    timeline = _timeline(ru)
    for words in ("Заявка зарегистрирована", "Комментарий", "Принята в работу · Статус: В работе", "Сотрудник (вы)"):
        assert words in timeline, timeline
    agent.cookies.set("helpdesk_lang", "en")
    en = agent.get(ticket).text
    assert "Attached:" not in en and 'File: <a href' in en, en
    timeline_en = _timeline(en)
    for words in ("Request registered", "Comment", "Accepted · Status: In progress", "Staff (you)"):
        assert words in timeline_en, timeline_en
    for raw in ("opened", "comment added", "comment_added", "accepted", "agent "):
        assert raw not in timeline and raw not in timeline_en, raw


async def test_portal_keeps_a_users_catalogue_and_releases_briefly_and_never_gives_them_to_another(
        portal_stack: PortalStack) -> None:
    """The ticket page's rarely changing reads are kept per user for seconds (bench/portal.py), not shared."""
    from helpdesk_portal.adapters.api import Api

    async with httpx.AsyncClient(base_url=portal_stack.intake) as client:
        token = (await client.post("/v1/auth/token", json={"login": portal_stack.agent, "password": PASSWORD})
                 ).json()["access_token"]
    api = Api(portal_stack.intake, portal_stack.query, 10)
    try:
        params = {"customer_id": portal_stack.customer_id}
        first = await api.read_intake_kept("agent", token, "/v1/catalogue", params, seconds=30)
        assert first["customer_id"] == portal_stack.customer_id and first["services"]
        assert await api.read_intake_kept("agent", token, "/v1/catalogue", params, seconds=30) is first
        assert await api.read_intake_kept("someone-else", token, "/v1/catalogue", params) is not first
        assert await api.read_intake_kept("agent", token, "/v1/releases", seconds=0) is not \
            await api.read_intake_kept("agent", token, "/v1/releases", seconds=0)  # expired at once
    finally:
        await api.close()


def _command(stack: PortalStack, login: str, path: str, body: dict[str, object]) -> httpx.Response:
    """A command on intake as ``login`` (signed in there with the portal stack's password)."""
    token = httpx.post(f"{stack.intake}/v1/auth/token", json={"login": login, "password": PASSWORD}, timeout=10)
    answer = httpx.post(f"{stack.intake}{path}", json=body, timeout=10,
                        headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert answer.status_code in (200, 201), answer.text
    return answer


def test_portal_awaiting_customer_reads_awaiting_the_customer_to_staff_and_awaiting_your_reply_to_the_customer_in_both_languages(
        portal_stack: PortalStack) -> None:
    opened = _command(portal_stack, portal_stack.customer, "/v1/tickets", {"subject": "Who waits", "description": "?"})
    ticket = opened.json()["id"]
    _command(portal_stack, portal_stack.agent, f"/v1/tickets/{ticket}/actions/accept", {})
    asked = _command(portal_stack, portal_stack.agent, f"/v1/tickets/{ticket}/actions/request_clarification",
                     {"comment": "Which report?"})
    badge = '<span class="badge status-awaiting_customer">{}</span>'
    pages = {}
    for login in (portal_stack.agent, portal_stack.customer):
        client = signed_in(portal_stack, login)
        for lang in ("en", "ru"):
            client.cookies.set("helpdesk_lang", lang)
            pages[login, lang] = client.get(f"/tickets/{ticket}",
                                            params={"after": asked.headers["Helpdesk-Position"]}).text
    agent, customer = pages[portal_stack.agent, "en"], pages[portal_stack.customer, "en"]
    assert "Clarification requested · Status: Awaiting the customer" in _timeline(agent), _timeline(agent)
    assert badge.format("Awaiting the customer") in agent and "Awaiting your reply" not in agent, agent
    assert badge.format("Awaiting your reply") in customer, customer
    agent, customer = pages[portal_stack.agent, "ru"], pages[portal_stack.customer, "ru"]
    assert badge.format("Ожидает ответа клиента") in agent and "Ожидает вашего ответа" not in agent, agent
    assert badge.format("Ожидает вашего ответа") in customer and "Ожидает ответа клиента" not in customer, customer
