"""The group commit has no writer thread: a batch is saved on the thread of the command that heads it
(adapters/committer.py). A command alone crosses to no other thread for its commit, and commits that
arrive during a save wait to be saved together, by the oldest of them."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from helpdesk_intake.adapters.committer import GroupCommitter
from helpdesk_intake.adapters.eventstore import open_event_store
from helpdesk_intake.domain.base import Context
from helpdesk_intake.domain.rules import PermissiveRules
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.vocabulary import Role
from tests.intake.test_eventstore import NOW
from tests.support.desk import Desk
from tests.support.waiting import wait_until


def _events() -> list[Any]:
    ticket = Ticket.open(Context("u", Role.AGENT, NOW), PermissiveRules(), id=uuid.uuid4(), number="HD-1",
                         customer_id="c", requester_id=None, subject="s", description="d", channel="email",
                         category=None, priority="normal", service=None, policy=None)
    return ticket.collect_events()


class SavesSeen(GroupCommitter):
    """Notes each batch it saves: the saving thread and the commits' events; a save may be held back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saves: list[tuple[int, list[list[Any]]]] = []
        self.before_save = lambda: None

    def _save(self, batch: list[Any]) -> None:
        self.saves.append((threading.get_ident(), [commit.events for commit in batch]))
        self.before_save()
        super()._save(batch)


def test_perf_a_lone_commit_is_saved_on_the_committing_thread_with_no_thread_started(database_url: str) -> None:
    store = open_event_store(database_url)
    try:
        threads_before = set(threading.enumerate())
        committer = SavesSeen(store)
        events = _events()
        assert [r.domain_event for r in committer.commit(events)] == events
        assert committer.saves == [(threading.get_ident(), [events])]
        assert set(threading.enumerate()) == threads_before
    finally:
        store.close()


def test_perf_commits_arriving_during_a_save_are_saved_in_one_batch_by_the_oldest_of_them(
        database_url: str) -> None:
    store = open_event_store(database_url)
    committer = SavesSeen(store)
    first_save = threading.Event()

    def held_until_eleven_wait() -> None:  # the first save, held until the others queued behind it
        if not first_save.is_set():
            first_save.set()
            wait_until(lambda: len(committer._waiting) == 11, message="the other commits never queued")

    committer.before_save = held_until_eleven_wait
    answers: dict[int, tuple[list[Any], list[Any]]] = {}

    def command() -> None:
        events = _events()
        answers[threading.get_ident()] = events, committer.commit(events)

    try:
        leader = threading.Thread(target=command)
        leader.start()
        first_save.wait(timeout=10)
        followers = [threading.Thread(target=command) for _ in range(11)]
        for thread in followers:
            thread.start()
        for thread in [leader, *followers]:
            thread.join(timeout=30)
    finally:
        store.close()
    (first_by, first), (second_by, second) = committer.saves
    assert first_by == leader.ident and first == [answers[leader.ident][0]]
    assert len(second) == 11 and second[0] == answers[second_by][0]  # saved by the thread at its head
    assert second_by in {thread.ident for thread in followers}
    for events, recordings in answers.values():
        assert [r.domain_event for r in recordings] == events


def test_perf_a_ticket_command_is_saved_on_its_command_thread(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    committer = desk.client.app.state.tickets.committer
    saved_on: list[str] = []
    save = committer._save

    def noted(batch: list[Any]) -> None:
        saved_on.append(threading.current_thread().name)
        save(batch)

    monkeypatch.setattr(committer, "_save", noted)
    ticket = desk.open()
    assert desk.act(ticket["id"], "accept").status_code == 200
    assert len(saved_on) == 2 and all(name.startswith("command-") for name in saved_on), saved_on
