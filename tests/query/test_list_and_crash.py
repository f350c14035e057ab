"""query as a real process over synthetic histories: the list API, and a projector SIGKILLed mid-batch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Role

from tests.query.conftest import assert_matches, expected_tickets, sql
from tests.query.handmade import start_query, token
from tests.query.synthetic import histories, publish
from tests.support.processes import ADMIN_TOKEN
from tests.support.waiting import async_wait_until

pytestmark = [pytest.mark.e2e]


def _token(role: Role, customer_id: str | None = None) -> dict[str, str]:
    return token("u1", role, customer_id)


@pytest.fixture
async def loaded(services: Any, js: Any) -> tuple[httpx.AsyncClient, list[ev.CloudEvent]]:
    events = list(histories(tickets=300, events_per_ticket=4, customers=5, seed=5))
    await publish(js, events)
    query = start_query(services)
    client = httpx.AsyncClient(base_url=query.url, timeout=10)
    answer = await client.get("/v1/tickets", headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                                      "Helpdesk-Min-Position": str(events[-1].sequence)})
    assert answer.status_code == 200, answer.text
    yield client, events
    await client.aclose()


async def _all_pages(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict]:
    items, cursor = [], None
    while True:
        page = (await client.get("/v1/tickets", params={**params, **({"cursor": cursor} if cursor else {})},
                                 headers=headers)).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def test_med2_tel2_ks3_queue_is_priority_first_then_oldest_across_cursor_pages(loaded: Any) -> None:
    client, events = loaded
    queue = await _all_pages(client, _token(Role.AGENT), order="queue", limit=37)
    expected = sorted(expected_tickets(events).values(), key=lambda t: (-t.priority.rank, t.created_at, t.id))
    assert [t["id"] for t in queue] == [t.id for t in expected]
    newest = await _all_pages(client, _token(Role.AUDITOR), limit=50)
    assert [t["created_at"] for t in newest] == sorted((t["created_at"] for t in newest), reverse=True)
    assert len(newest) == 300


async def test_list_filters_full_text_and_customer_isolation(loaded: Any) -> None:
    client, events = loaded
    tickets = expected_tickets(events).values()
    agent = _token(Role.AGENT)
    urgent_open = await _all_pages(client, agent, priority="urgent,high", status=["new", "in_progress"])
    assert {t["id"] for t in urgent_open} == {t.id for t in tickets if t.priority.rank >= 2
                                               and t.status.value in ("new", "in_progress")}
    mine = await _all_pages(client, agent, assignee_id="agent-2")
    assert {t["id"] for t in mine} == {t.id for t in tickets if "agent-2" in (t.responsible_id, t.owner_id)}
    for q, word in (("принтеры", "принтер"), ("printers", "printer"), ("отчёт", "отчёт")):
        found = await _all_pages(client, agent, q=q)
        assert found and {t["id"] for t in found} == {
            t.id for t in tickets if word in (t.subject + " " + t.description).lower()}, q
    own = await _all_pages(client, _token(Role.CUSTOMER, "cust-1"), limit=100)
    assert {t["id"] for t in own} == {t.id for t in tickets if t.customer_id == "cust-1"}
    other = await _all_pages(client, _token(Role.CUSTOMER, "cust-1"), customer_id="cust-2")
    assert other == []


async def test_tel5_list_filters_by_channel_for_the_agents_chat_panel(loaded: Any) -> None:
    client, events = loaded
    tickets = expected_tickets(events).values()
    open_chats = await _all_pages(client, _token(Role.AGENT), channel="chat", status=["new", "in_progress"],
                                  order="queue", limit=20)
    assert open_chats and {t["id"] for t in open_chats} == {
        t.id for t in tickets if t.channel.value == "chat" and t.status.value in ("new", "in_progress")}
    assert [t["id"] for t in open_chats] == [t.id for t in sorted(
        (t for t in tickets if t.id in {c["id"] for c in open_chats}), key=lambda t: (-t.priority.rank, t.created_at, t.id))]
    both = await _all_pages(client, _token(Role.AGENT), channel="chat,email", limit=200)
    assert {t["channel"] for t in both} == {"chat", "email"}
    answer = await client.get("/v1/tickets", params={"channel": "fax"}, headers=_token(Role.AGENT))
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_failed")


@pytest.mark.parametrize("params", [{"status": "lost"}, {"priority": "meh"}, {"order": "random"},
                                    {"limit": "0"}, {"limit": "x"}, {"cursor": "!!"}, {"sla_state": "late"}])
async def test_bad_list_parameters_answer_400_validation_failed(loaded: Any, params: dict[str, str]) -> None:
    client, _ = loaded
    answer = await client.get("/v1/tickets", params=params, headers=_token(Role.AGENT))
    assert (answer.status_code, answer.json()["code"]) == (400, "validation_failed")


async def test_card6_projector_sigkilled_mid_batch_resumes_exactly_once(services: Any, js: Any,
                                                                  database_url: str) -> None:
    events = list(histories(tickets=400, events_per_ticket=10, seed=13))
    projector = services.start("query", "project", env={"HELPDESK_PROJECTOR_BATCH": "20"})
    await publish(js, events)

    async def position() -> int:
        try:
            return (await sql(database_url, "SELECT position FROM query.tracking"))[0][0]
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            return 0

    await async_wait_until(lambda: _past(position, events[len(events) // 3].sequence), timeout=30)
    projector.kill()  # SIGKILL while it is busy projecting batch after batch
    assert await position() < events[-1].sequence
    projector.start()
    await async_wait_until(lambda: _past(position, events[-1].sequence), timeout=60)
    await assert_matches(database_url, events)


async def _past(position: Any, target: int) -> bool:
    return await position() >= target


