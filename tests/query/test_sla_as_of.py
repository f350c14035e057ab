"""The sla block of an ``as_of`` view (CARD-8, issue #5): folded from the SLA facts known then, read then.

One IMC ticket (Moscow office days, 9:00-18:00): resolution set on accept, paused while
the ticket awaits the customer, resumed with a moved deadline, then breached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies import calendar_of, load_policies
from helpdesk_shared.vocabulary import Role, Status

from helpdesk_query.domain.sla import fold, present
from tests.query.handmade import Story, publish_story, start_query, token

MSK = ZoneInfo("Europe/Moscow")
HOUR = 3600
ANN, BOB = ev.Actor("ann", Role.CUSTOMER), ev.Actor("bob", Role.AGENT)


def msk(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=MSK)


def _story() -> Story:
    s, tid = Story(), "t-imc"
    s.open(tid, "acme", msk(2, 9), ANN)
    s.fact(ev.Accepted, tid, msk(2, 10), BOB, Status.IN_PROGRESS, from_status=Status.NEW)
    s.sla_fact(sla.TargetSet, tid, msk(2, 10), kind="resolution", due_at=msk(3, 10), warn_at=msk(2, 15),
               started_at=msk(2, 10))
    s.fact(ev.ClarificationRequested, tid, msk(2, 12), BOB, Status.AWAITING_CUSTOMER, from_status=Status.IN_PROGRESS)
    s.sla_fact(sla.Paused, tid, msk(2, 12))
    s.sla_fact(sla.TargetSet, tid, msk(2, 12), kind="customer_reply", due_at=msk(5, 12), started_at=msk(2, 12),
               customer_side=True)
    s.fact(ev.ClarificationReceived, tid, msk(2, 17), ANN, Status.IN_PROGRESS, from_status=Status.AWAITING_CUSTOMER)
    s.sla_fact(sla.Resumed, tid, msk(2, 17))
    s.sla_fact(sla.Met, tid, msk(2, 17), kind="customer_reply", due_at=msk(5, 12), stopped_at=msk(2, 17),
               remaining_seconds=22 * HOUR)
    s.sla_fact(sla.TargetSet, tid, msk(2, 17), kind="resolution", due_at=msk(3, 15), warn_at=msk(3, 10),
               started_at=msk(2, 10))  # five paused working hours later
    s.sla_fact(sla.Breached, tid, msk(3, 15), kind="resolution", due_at=msk(3, 15))
    return s


# (as_of, ticket status, paused, {kind: (due_at, remaining_seconds, state)})
EXPECTED = [
    (msk(2, 9, 30), "new", False, {}),
    (msk(2, 11), "in_progress", False, {"resolution": (msk(3, 10), 8 * HOUR, "running")}),
    (msk(2, 15, 30), "awaiting_customer", True, {  # frozen at 12:00, though past its warning time
        "resolution": (msk(3, 10), 7 * HOUR, "paused"),
        "customer_reply": (msk(5, 12), 23 * HOUR + 1800, "running")}),
    (msk(3, 11), "in_progress", False, {
        "resolution": (msk(3, 15), 4 * HOUR, "at_risk"), "customer_reply": (msk(5, 12), 22 * HOUR, "met")}),
    (msk(3, 16), "in_progress", False, {
        "resolution": (msk(3, 15), -HOUR, "breached"), "customer_reply": (msk(5, 12), 22 * HOUR, "met")}),
]


def _targets(block: dict[str, Any]) -> dict[str, tuple[dt.datetime, int, str]]:
    return {t["kind"]: (dt.datetime.fromisoformat(t["due_at"]), t["remaining_seconds"], t["state"])
            for t in block["targets"]}


def test_card8_sla_fold_until_an_instant_reads_the_block_as_it_stood_then() -> None:
    facts = [(e.data, e.sequence) for e in _story().sla]
    calendar = calendar_of(load_policies()["imc"])
    for instant, _, paused, targets in EXPECTED:
        block = present(fold(facts, until=instant), "imc", calendar, instant)
        assert (block["paused"], _targets(block)) == (paused, targets), instant


def test_sla_fact_published_late_still_counts_from_when_it_occurred() -> None:
    """A breach timer's fact carries its due time and may follow a later ticket fact into the stream."""
    facts = [(e.data, e.sequence) for e in _story().sla]
    late = fold([*facts[:-1], (facts[-1][0], 99)], until=msk(3, 16))
    assert late is not None and late.targets["resolution"].breached
    assert not fold(facts, until=msk(3, 14, 59)).targets["resolution"].breached  # type: ignore[union-attr]


@pytest.fixture
async def query(services: Any, js: Any) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    process = start_query(services)
    story = _story()
    await publish_story(js, story)
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        yield client, story.position


@pytest.mark.e2e
async def test_card8_as_of_shows_the_sla_block_set_paused_resumed_and_breached_as_it_stood(
        query: tuple[httpx.AsyncClient, int]) -> None:
    client, position = query
    headers = {**token("bob", Role.AGENT), "Helpdesk-Min-Position": str(position)}
    for instant, status, paused, targets in EXPECTED:
        response = await client.get("/v1/tickets/t-imc", params={"as_of": instant.isoformat()}, headers=headers)
        assert response.status_code == 200, response.text
        ticket = response.json()
        sla_block = ticket["sla"]
        assert (ticket["status"], sla_block["policy"], sla_block["paused"]) == (status, "imc", paused), instant
        assert _targets(sla_block) == targets, instant
    customer = await client.get("/v1/tickets/t-imc", params={"as_of": msk(2, 15, 30).isoformat()},
                                headers=token("ann", Role.CUSTOMER, "acme"))
    assert _targets(customer.json()["sla"])["resolution"][2] == "paused"
