"""Two intake workers on one store, each with its aggregate cache (issue #16, intake CPU per command).

A worker decides on its own copy of a ticket it just saved, without reading the store, while no
other writer can have written it. Here the other writer (worker B) always has: worker A's copy
is stale, and A must still answer as the current ticket dictates — its decision caught at commit
by optimistic concurrency and retried, or decided again on a read — never applied on stale state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.intake.conftest import intake_worker
from tests.support.desk import Desk, form_details


@pytest.fixture
def worker_b(database_url: str, nats_url: str) -> Iterator[TestClient]:
    with intake_worker(database_url, nats_url) as test_client:
        yield test_client


@pytest.fixture
def reads(desk: Desk) -> list[Any]:
    """Worker A trusts its copies for a minute (the worst case), and its event reads are counted."""
    tickets = desk.client.app.state.tickets
    tickets.committer.saved.window = 60.0
    recorder, counted = tickets.store.recorder, []
    select_events = recorder.select_events

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(kwargs)
        return select_events(*args, **kwargs)

    recorder.select_events = counting
    return counted


def _comment(client: TestClient, desk: Desk, ticket_id: str, body: str, **headers: str) -> Any:
    return client.post(f"/v1/tickets/{ticket_id}/comments", json={"body": body}, headers={**desk.agent, **headers})


def test_intakecpu_a_command_on_a_ticket_this_worker_just_saved_reads_no_events(desk: Desk, reads) -> None:
    ticket = desk.open()
    reads.clear()
    answer = _comment(desk.client, desk, ticket["id"], "first look")
    assert answer.status_code == 201 and answer.json()["version"] == 2
    assert reads == []


def test_intakecpu_what_the_other_worker_saved_is_learnt_at_this_workers_next_commit(
        desk: Desk, reads, worker_b: TestClient) -> None:
    """Worker B's saves (learnt in A's next batch) keep A's other copies trusted, and make that one read."""
    ticket = desk.open()
    b_ticket = {"subject": "B's", "description": "d", "details": form_details("keysystems")}
    assert worker_b.post("/v1/tickets", json=b_ticket, headers=desk.customer).status_code == 201
    desk.open()  # A's batch learns that B wrote another ticket
    reads.clear()
    assert _comment(desk.client, desk, ticket["id"], "from worker A").json()["version"] == 2
    assert reads == []
    assert _comment(worker_b, desk, ticket["id"], "from worker B").json()["version"] == 3
    desk.open()  # A's batch learns that B wrote this ticket
    reads.clear()
    assert _comment(desk.client, desk, ticket["id"], "A again").json()["version"] == 4
    assert [r["gt"] for r in reads] == [2], "A read only the event it did not know (a fast-forward), no lost race"


def test_intakecpu_a_stale_copy_that_writes_loses_the_race_and_is_retried_on_the_current_ticket(
        desk: Desk, reads, worker_b: TestClient) -> None:
    ticket = desk.open()
    assert _comment(worker_b, desk, ticket["id"], "from worker B").json()["version"] == 2
    answer = _comment(desk.client, desk, ticket["id"], "from worker A")
    assert answer.status_code == 201 and answer.json()["version"] == 3
    assert reads, "worker A read the ticket again after its commit collided"


def test_intakecpu_a_stale_copy_never_lets_a_refused_action_through(
        desk: Desk, reads, worker_b: TestClient, event_count) -> None:
    ticket = desk.open()
    assert worker_b.post(f"/v1/tickets/{ticket['id']}/actions/reject", json={"reason": "spam"},
                         headers=desk.agent).status_code == 200
    events = event_count()
    accepted = desk.act(ticket["id"], "accept")  # A's copy: new, acceptable; the ticket: rejected
    assert accepted.status_code == 409, accepted.text
    assert event_count() == events


def test_intakecpu_a_stale_copy_never_refuses_what_the_current_ticket_allows(
        desk: Desk, reads, worker_b: TestClient) -> None:
    ticket = desk.open()
    assert worker_b.post(f"/v1/tickets/{ticket['id']}/actions/accept", json={},
                         headers=desk.agent).status_code == 200
    sent = desk.act(ticket["id"], "send_to_development")  # A's copy: new, where it is refused
    assert sent.status_code == 200 and sent.json()["status"] == "in_development", sent.text


def test_intakecpu_a_stale_copy_never_answers_412_to_the_current_if_match(
        desk: Desk, reads, worker_b: TestClient) -> None:
    ticket = desk.open()
    assert _comment(worker_b, desk, ticket["id"], "from worker B").json()["version"] == 2
    answer = _comment(desk.client, desk, ticket["id"], "seen version 2", **{"If-Match": '"2"'})
    assert answer.status_code == 201 and answer.json()["version"] == 3
