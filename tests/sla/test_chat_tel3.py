"""TelemedHelp's live chat through the APIs (TEL-3, TEL-5), on the simulated clock: the reaction runs from
the chat's first message — its opening — even after hours, query shows its due time (what the chat tells
the customer), and the first agent's answer meets it and makes them the chat's owner."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.intake.test_chat_owner import token_subject
from tests.sla.scenario import as_utc, msk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]


def _ticket(desk: Any, tid: str) -> dict[str, Any]:
    response = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", headers=desk.desk.agent, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _reaction(desk: Any, tid: str, **expected: Any) -> dict[str, Any]:
    """The first_response target once query shows ``expected`` of it (the projections are asynchronous)."""
    def matches() -> dict[str, Any] | None:
        found = [t for t in _ticket(desk, tid)["sla"]["targets"] if t["kind"] == "first_response"]
        return found[0] if found and all(found[0].get(k) == v for k, v in expected.items()) else None
    try:
        return wait_until(matches, timeout=10)
    except TimeoutError:
        raise AssertionError(f"first_response never showed {expected}: {_ticket(desk, tid)['sla']}") from None


def test_tel3_tel5_api_a_chats_reaction_runs_from_its_first_message_and_the_first_answer_owns_it(
        start_desk: Any) -> None:
    desk = start_desk("telemed", start=msk(2026, 2, 9, 22, 30), query=True)  # Monday, after TEL-1's 20:00
    tid = desk.open(channel="chat", subject="Logged out", description="The app logs me out since 5.3")
    due = as_utc(msk(2026, 2, 10, 8, 10)).isoformat()  # ten working minutes from the first message
    _reaction(desk, tid, due_at=due, remaining_seconds=600, state="running")
    desk.move_to(msk(2026, 2, 9, 22, 40))
    desk.comment(tid, "Still the same after a restart")  # more messages do not move the reaction
    _reaction(desk, tid, due_at=due, state="running")
    desk.move_to(msk(2026, 2, 10, 8, 4))
    desk.comment(tid, "Which phone do you use?", as_customer=False)
    _reaction(desk, tid, state="met")
    assert _ticket(desk, tid)["owner_id"] == token_subject(desk.desk.agent)  # TEL-5: the first to answer owns it
