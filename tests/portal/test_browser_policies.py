"""The admin's policy pages (issue #13): every version as tables with the rules they implement, an upload
checked before anything changes, the diff between two versions, and the portal's time zones taken from
the published versions. The HTTP tests of the routes share this module's stack with its one browser test
(an admin uploads a policy with an error, sees it by field, then a good one, and a ticket's deadline moves),
so the suite starts no other set of services for them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpdesk_shared.policies import PRESETS_DIR
from tests.portal.browser import browser, serious_violations  # noqa: F401 - the fixture
from tests.portal.conftest import PASSWORD, PortalStack, csrf_token, signed_in
from tests.portal.test_browser import Shots
from tests.support.policies import policy_document
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
TOML = {"Content-Type": "application/toml"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def document(policy_id: str, resolution: str = "3bd", zone: str = "Europe/Moscow") -> str:
    return policy_document(policy_id, resolution, timezone=zone, target_rules=["IMC-8"])


@pytest.fixture(scope="module")
def staff(portal_stack: PortalStack) -> Iterator[dict[str, str]]:
    """An admin and an auditor who sign in to the portal; the intake client acts as the desk's admin."""
    suffix = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=portal_stack.intake, headers=ADMIN, timeout=10) as intake:
        for role in ("admin", "auditor"):
            answer = intake.post("/v1/staff", json={"name": role.title(), "email": f"{role}-{suffix}@desk.test",
                                                    "login": f"{role}-{suffix}", "password": PASSWORD, "role": role})
            assert answer.status_code == 201, answer.text
        yield {"admin": f"admin-{suffix}", "auditor": f"auditor-{suffix}"}


def publish(stack: PortalStack, text: str) -> dict[str, Any]:
    answer = httpx.post(stack.intake + "/v1/policies", content=text.encode(), headers={**ADMIN, **TOML})
    assert answer.status_code == 201, answer.text
    return answer.json()


def upload(client: httpx.Client, text: str, step: str) -> httpx.Response:
    page = client.get("/admin/policies/upload")
    return client.post("/admin/policies/upload", data={"document": text, "step": step,
                                                       "_csrf_token": csrf_token(page.text)})


def versions(stack: PortalStack, policy_id: str) -> int:
    answer = httpx.get(f"{stack.intake}/v1/policies/{policy_id}/versions", headers=ADMIN)
    return len(answer.json()["items"]) if answer.status_code == 200 else 0


def test_policy_pages_every_policy_and_version_as_tables_with_rule_ids_and_who_published(
        portal_stack: PortalStack, staff: dict[str, str]) -> None:
    client = signed_in(portal_stack, staff["auditor"])
    listed = client.get("/admin/policies")
    assert listed.status_code == 200
    assert all(f'href="/admin/policies/{p}"' in listed.text for p in ("medis", "telemed", "keysystems", "endocs", "imc"))
    imc = client.get("/admin/policies/imc").text
    for shown in ("Сроки по категории × приоритету", "Автоматические переходы", "Календарь", "Сроки возврата в работу",
                  "Учёт времени и бюджет", "Europe/Moscow", "IMC-8", "IMC-9", "IMC-6", "service:intake"):
        assert shown in imc, shown
    policy_id = f"shown-{uuid.uuid4().hex[:6]}"
    publish(portal_stack, document(policy_id))
    publish(portal_stack, document(policy_id, "5bd"))
    first = client.get(f"/admin/policies/{policy_id}", params={"version": 1}).text
    assert "3bd" in first and "5bd" not in first.split("Версии")[0] and "?version=2" in first
    assert "upload" not in client.get("/admin/policies").text  # an auditor reads, never uploads
    assert client.get("/admin/policies/upload").status_code == 404


def test_policy_pages_are_for_admins_and_auditors_only(portal_stack: PortalStack) -> None:
    for login in (portal_stack.customer, portal_stack.agent):
        client = signed_in(portal_stack, login)
        assert client.get("/admin/policies").status_code == 404
        assert client.get("/admin/policies/medis").status_code == 404
        assert "/admin/policies" not in client.get("/tickets").text


def test_policy_pages_an_upload_is_checked_and_shows_every_error_by_field_before_anything_changes(
        portal_stack: PortalStack, staff: dict[str, str]) -> None:
    client = signed_in(portal_stack, staff["admin"])
    policy_id = f"upload-{uuid.uuid4().hex[:6]}"
    bad = document(policy_id, "three days").replace('name = "Contract', 'colour = "red"\nnamez = "x')
    checked = upload(client, bad, "check")
    assert checked.status_code == 422
    for field in ("targets[0].resolution", "colour", "namez", "name"):
        assert f"<code>{field}</code>" in checked.text, field
    assert versions(portal_stack, policy_id) == 0
    page = client.get("/admin/policies/upload")
    as_file = client.post("/admin/policies/upload", data={"step": "check", "_csrf_token": csrf_token(page.text)},
                          files={"file": ("contract.toml", bad.encode(), "application/toml")})
    assert as_file.status_code == 422 and "<code>targets[0].resolution</code>" in as_file.text
    good = upload(client, document(policy_id), "check")
    assert good.status_code == 200 and 'value="publish"' in good.text and versions(portal_stack, policy_id) == 0
    published = upload(client, document(policy_id), "publish")
    assert published.status_code == 303 and published.headers["location"] == f"/admin/policies/{policy_id}?version=1"
    assert versions(portal_stack, policy_id) == 1
    assert f"Admin ({staff['admin']})" in client.get(published.headers["location"]).text  # who published, by name
    again = upload(client, document(policy_id), "check")
    assert "Это уже действующая версия" in again.text and 'value="publish"' not in again.text


def test_policy_pages_the_diff_of_two_versions_marks_the_changed_cells_only(
        portal_stack: PortalStack, staff: dict[str, str]) -> None:
    policy_id = f"diff-{uuid.uuid4().hex[:6]}"
    publish(portal_stack, document(policy_id))
    publish(portal_stack, document(policy_id, "5bd", zone="Europe/Samara"))
    page = signed_in(portal_stack, staff["admin"]).get(f"/admin/policies/{policy_id}/diff",
                                                      params={"old": 1, "new": 2}).text
    assert '<td class="cell-changed"><del>3bd</del> → <ins>5bd</ins></td>' in page
    assert "<del>Europe/Moscow</del> → <ins>Europe/Samara</ins>" in page
    assert "Понедельник" not in page  # the unchanged rows are left out
    same = signed_in(portal_stack, staff["admin"]).get(f"/admin/policies/{policy_id}/diff",
                                                      params={"old": 2, "new": 2}).text
    assert "Обе версии задают одни и те же правила." in same


def test_policy_pages_times_are_shown_in_the_zone_of_the_published_version_and_follow_a_new_one(
        portal_stack: PortalStack) -> None:
    policy_id = f"zoned-{uuid.uuid4().hex[:6]}"
    publish(portal_stack, document(policy_id, zone="Asia/Yekaterinburg"))
    login = f"zoned-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=portal_stack.intake, headers=ADMIN, timeout=10) as intake:
        customer = intake.post("/v1/customers", json={"name": "Zoned", "email": f"it@{login}.test",
                                                      "policy": policy_id}).json()
        assert intake.post(f"/v1/customers/{customer['id']}/users", json={
            "name": "Zoned user", "email": f"{login}@zoned.test", "login": login, "password": PASSWORD,
        }).status_code == 201
    client = signed_in(portal_stack, login)
    token = httpx.post(portal_stack.intake + "/v1/auth/token", json={"login": login, "password": PASSWORD}).json()
    opened = httpx.post(portal_stack.intake + "/v1/tickets", json={"subject": "Clock", "description": "Which zone?"},
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert opened.status_code == 201, opened.text
    page = f"/tickets/{opened.json()['id']}?after={opened.headers['helpdesk-position']}"
    assert "YEKT" in client.get(page).text
    publish(portal_stack, document(policy_id, zone="Europe/Samara"))
    wait_until(lambda: "SAMT" in client.get(page).text, timeout=20, message="the new version's zone")


def test_portal_policy_upload_an_admin_sees_errors_by_field_then_publishes_and_a_deadline_moves(
        browser: Any, portal_stack: PortalStack, staff: dict[str, str]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from tests.portal.test_browser import sign_in
    shot = Shots("policy_upload")
    ticket = _medis_ticket(portal_stack)
    before = wait_until(lambda: _first_response_due(portal_stack, ticket), timeout=30, message="the ticket planned")
    preset = (PRESETS_DIR / "medis.toml").read_text()
    admin = sign_in(browser, portal_stack, staff["admin"])
    admin.click("a[href='/admin/policies']")
    shot(admin, "policies")
    admin.click("a[href='/admin/policies/upload']")
    admin.fill("#f-document", preset.replace('first_response = "3bd"', 'first_response = "three days"')
               .replace('regulation = "MED"', 'regulation = "MED"\ncolour = "red"'))
    admin.click("button[value=check]")
    errors = admin.locator("table.problems")
    expect(errors).to_contain_text("targets[0].first_response")
    expect(errors).to_contain_text("colour")
    shot(admin, "errors-by-field")
    assert serious_violations(admin) == []
    assert _first_response_due(portal_stack, ticket) == before and versions(portal_stack, "medis") == 1
    admin.fill("#f-document", preset.replace('first_response = "3bd"', 'first_response = "5bd"'))
    admin.click("button[value=check]")
    expect(admin.locator("td.cell-changed")).to_contain_text("5bd")
    shot(admin, "checked-with-changes")
    assert serious_violations(admin) == []
    admin.click("button[value=publish]")
    admin.wait_for_url("**/admin/policies/medis?version=2")
    expect(admin.locator("h1")).to_contain_text("2")
    shot(admin, "published-version")
    assert serious_violations(admin) == []
    after = wait_until(lambda: (due := _first_response_due(portal_stack, ticket)) != before and due, timeout=30,
                       message="the open ticket re-planned on the new version")
    assert dt.datetime.fromisoformat(after) > dt.datetime.fromisoformat(before)  # 3 → 5 business days
    admin.goto(f"{portal_stack.portal}/tickets/{ticket}")
    shot(admin, "ticket-after")
    assert serious_violations(admin) == []


def _medis_ticket(stack: PortalStack) -> str:
    token = httpx.post(stack.intake + "/v1/auth/token", json={"login": stack.customer, "password": PASSWORD}).json()
    opened = httpx.post(stack.intake + "/v1/tickets", json={"subject": "Slow reports", "description": "Since Monday",
                                                            "service": "6.3"},
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


def _first_response_due(stack: PortalStack, ticket_id: str) -> str | None:
    """The ticket's first-response deadline as query serves it (None until the SLA service planned it)."""
    answer = httpx.get(f"{stack.query}/v1/tickets/{ticket_id}", headers=ADMIN)
    if answer.status_code != 200:
        return None
    targets = (answer.json().get("sla") or {}).get("targets", [])
    return next((t.get("due_at") for t in targets if t.get("kind") == "first_response"), None)
