"""Timers live in the database: a crash loses none and fires none twice; two processes share them."""

from __future__ import annotations

import collections
import datetime as dt
import threading
from typing import Any

import psycopg
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from tests.sla.scenario import msk
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
MONDAY = msk(2026, 3, 2, 10, 0)
TICKETS = 30


def _awaiting_tickets(desk: Any, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        ticket = desk.desk.open()
        response = desk.desk.act(ticket["id"], "request_clarification")
        assert response.status_code == 200, response.text
        ids.append(ticket["id"])
    desk.settle()
    return ids


def _assert_each_fired_once(desk: Any, ids: list[str]) -> None:
    rejected = collections.Counter(f.ticket_id for f in _facts(desk, "helpdesk.ticket.*.rejected", ev.decode))
    due = collections.Counter(f.ticket_id for f in _facts(desk, "helpdesk.sla.*.transition_due", sla.decode))
    assert rejected == {tid: 1 for tid in ids}
    assert due == {tid: 1 for tid in ids}
    for tid in ids:
        last = desk.ticket_facts(tid)[-1]
        assert isinstance(last, ev.Rejected) and last.automatic


def _facts(desk: Any, subject: str, decode: Any) -> list[Any]:
    from tests.support.stream import read_all
    return [decode(m.data).data for m in read_all(desk.nats_url, subject)]


def test_card4_crash_with_timers_due_every_timer_fires_exactly_once_after_restart(start_desk: Any, database_url: str) -> None:
    desk = start_desk("medis", start=MONDAY)
    ids = _awaiting_tickets(desk, TICKETS)
    [service] = desk.sla
    moved: dict[str, Any] = {}
    mover = threading.Thread(target=lambda: moved.update(desk.move_to(MONDAY + dt.timedelta(weeks=3))))
    mover.start()

    def some_fired() -> bool:
        with psycopg.connect(database_url) as conn:
            return conn.execute("SELECT count(*) FROM sla.timers WHERE fired_at IS NOT NULL").fetchone()[0] > 0

    wait_until(some_fired, timeout=20)
    service.kill()  # SIGKILL: mid-firing, with timers and commands still due
    service.start()
    mover.join(90)
    assert moved.get("settled"), moved
    _assert_each_fired_once(desk, ids)


def test_two_sla_processes_never_fire_one_timer_twice(start_desk: Any, database_url: str) -> None:
    desk = start_desk("medis", start=MONDAY, sla_processes=2, env={"HELPDESK_SLA_BATCH": "3"})
    ids = _awaiting_tickets(desk, TICKETS)
    desk.move_to(MONDAY + dt.timedelta(weeks=3))
    _assert_each_fired_once(desk, ids)
    with psycopg.connect(database_url) as conn:
        commands = conn.execute("SELECT count(*), count(DISTINCT ticket_id) FROM sla.commands").fetchone()
    assert commands == (TICKETS, TICKETS)
