"""The one fold behind the live model, the rebuild and as_of: given facts → expected view (and how it reads)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Channel, Priority, Role, Status, Visibility
from helpdesk_shared.web.auth import Principal

from helpdesk_query.application import present
from helpdesk_query.domain.ticket import TicketReopened, UnknownTicket, attachments, evolve, fold

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AGENT = ev.Actor(id="agent-1", role=Role.AGENT)
CUSTOMER = ev.Actor(id="user-1", role=Role.CUSTOMER)


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _common(version: int, status: Status, minutes: int, actor: ev.Actor = AGENT) -> dict:
    return dict(ticket_id="t1", customer_id="c1", version=version, status=status, actor=actor,
                occurred_at=_at(minutes))


HISTORY = [
    (ev.TicketOpened(**_common(1, Status.NEW, 0, CUSTOMER), number="HD-1", subject="Printer",
                     description="on fire", channel=Channel.EMAIL, policy="medis"), 10),
    (ev.PriorityChanged(**_common(2, Status.NEW, 5), priority=Priority.URGENT), 12),
    (ev.Accepted(**_common(3, Status.IN_PROGRESS, 10), from_status=Status.NEW, comment="on it"), 15),
    (ev.CommentAdded(**_common(4, Status.IN_PROGRESS, 20), comment_id="k1", body="check fuser",
                     visibility=Visibility.INTERNAL), 16),
    (ev.TimeLogged(**_common(5, Status.IN_PROGRESS, 30), entry_id="e1", minutes=7, billed_minutes=30), 20),
    (ev.TimeLogged(**_common(6, Status.IN_PROGRESS, 40), entry_id="e2", minutes=40, billed_minutes=60), 21),
    (ev.SolutionProposed(**_common(7, Status.CUSTOMER_TESTING, 50), from_status=Status.IN_PROGRESS), 25),
]


def test_card8_fold_until_an_instant_shows_the_ticket_as_it_stood_then() -> None:
    assert fold(HISTORY, until=_at(-1)) is None
    opened = fold(HISTORY, until=_at(0))
    assert (opened.status, opened.priority, opened.version, opened.position) == (Status.NEW, Priority.NORMAL, 1, 10)
    accepted = fold(HISTORY, until=_at(10) + dt.timedelta(seconds=30))
    assert (accepted.status, accepted.priority, accepted.version) == (Status.IN_PROGRESS, Priority.URGENT, 3)
    assert [c.body for c in accepted.comments] == ["on it"]
    final = fold(HISTORY)
    assert final == fold(HISTORY, until=_at(10_000))
    assert (final.status, final.version, final.updated_at, final.created_at) == (
        Status.CUSTOMER_TESTING, 7, _at(50), _at(0))


def test_end6_time_logged_adds_up_spent_and_billed_minutes() -> None:
    ticket = fold(HISTORY)
    assert (ticket.spent_minutes, ticket.billed_minutes) == (47, 90)


def test_action_comment_is_a_public_comment_and_comments_keep_their_visibility() -> None:
    comments = fold(HISTORY).comments
    assert [(c.id, c.visibility, c.action, c.author_id) for c in comments] == [
        ("t1.3", Visibility.PUBLIC, "accepted", "agent-1"), ("k1", Visibility.INTERNAL, None, "agent-1")]


def test_fact_without_an_opening_is_refused_as_unknown_ticket() -> None:
    with pytest.raises(UnknownTicket):
        evolve(None, HISTORY[1][0], 12)


def test_second_opening_is_refused() -> None:
    with pytest.raises(TicketReopened):
        evolve(fold(HISTORY[:1]), HISTORY[0][0], 30)


PDF = ev.Attachment(id="a" * 64, filename="Счёт №5.pdf", content_type="application/pdf", size=10)
LOG = ev.Attachment(id="b" * 64, filename="server.log", content_type="text/plain", size=20)
DUMP = ev.Attachment(id="c" * 64, filename="dump.sql", size=30)
WITH_FILES = [
    (msgspec.structs.replace(HISTORY[0][0], attachments=(PDF,), message_id="<m1@acme.test>"), 10),
    (ev.CommentAdded(**_common(2, Status.NEW, 5, CUSTOMER), comment_id="c1", body="log attached",
                     attachments=(LOG,), message_id="<m2@acme.test>"), 11),
    (ev.CommentAdded(**_common(3, Status.NEW, 6), comment_id="k1", body="our dump",
                     visibility=Visibility.INTERNAL, attachments=(DUMP, PDF)), 12),
]


def test_attachments_fold_into_the_opening_and_the_comments_they_came_with() -> None:
    ticket = fold(WITH_FILES)
    assert ticket.attachments == (PDF,)
    assert [(c.id, c.attachments) for c in ticket.comments] == [("c1", (LOG,)), ("k1", (DUMP, PDF))]
    assert fold(WITH_FILES, until=_at(5)).comments[0].attachments == (LOG,)
    assert attachments(ticket, public_only=False) == [(PDF, None), (LOG, "c1"), (DUMP, "k1"), (PDF, "k1")]


def test_internal_comments_files_are_not_among_what_a_customer_may_see() -> None:
    assert attachments(fold(WITH_FILES), public_only=True) == [(PDF, None), (LOG, "c1")]


def test_detail_lists_files_with_their_comment_and_url_and_hides_internal_ones_from_customers() -> None:
    ticket = fold(WITH_FILES)
    url = f"/v1/tickets/t1/attachments/{'b' * 64}"
    shown = present(ticket, Principal("user-1", Role.CUSTOMER, "c1"))
    assert shown["attachments"] == [
        {"id": "a" * 64, "filename": "Счёт №5.pdf", "content_type": "application/pdf", "size": 10,
         "url": f"/v1/tickets/t1/attachments/{'a' * 64}", "comment_id": None},
        {"id": "b" * 64, "filename": "server.log", "content_type": "text/plain", "size": 20, "url": url,
         "comment_id": "c1"}]
    assert [(c["id"], c["attachments"]) for c in shown["comments"]] == [
        ("c1", [{"id": "b" * 64, "filename": "server.log", "content_type": "text/plain", "size": 20, "url": url}])]
    staff = present(ticket, Principal("agent-1", Role.AGENT))
    assert [(a["id"][0], a["comment_id"]) for a in staff["attachments"]] == [
        ("a", None), ("b", "c1"), ("c", "k1"), ("a", "k1")]
    assert "attachments" not in present(ticket, Principal("agent-1", Role.AGENT), with_comments=False)
