"""notify's projection against a real PostgreSQL: views, directory, outbox and position in one transaction."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import psycopg

from psycopg_pool import AsyncConnectionPool

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as ev
from helpdesk_shared import mail_events as mail
from helpdesk_shared import sla_events as sla
from helpdesk_shared.vocabulary import Role

from helpdesk_notify.adapters.directory import ContactsTable
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.stream_runner import settle

from helpdesk_notify.adapters.projection import apply_batch, start_tracking, tracked
from helpdesk_notify.application import Contact
from helpdesk_notify.domain.notifications import NoWindows
from helpdesk_notify.domain.ticket import TicketView
from helpdesk_notify.entrypoints.consumer import projection
from tests.notify.facts import (
    AGENT,
    CUSTOMER_ID,
    T0,
    History,
    customer_registered,
    directory_change,
    mail_fact,
    policy_changed,
    subject_of,
    user_registered,
)


def _messages(events: list[ev.CloudEvent], first_seq: int = 1) -> list[StreamMessage]:
    return [StreamMessage(first_seq + i, subject_of(e), msgspec.json.encode(e)) for i, e in enumerate(events)]


async def _apply(url: str, msgs: list[StreamMessage], mail_from_seq: int = 1) -> Any:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await start_tracking(conn, mail_from_seq)
        async with conn.transaction():
            return await apply_batch(conn, msgs, NoWindows())


async def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await (await conn.execute(query)).fetchall()


async def test_a_redelivered_batch_queues_no_mail_twice(database_url: str) -> None:
    ticket = History()
    msgs = _messages([ticket.opened(), ticket.assign(), ticket.comment("hello"),
                      ticket.comment("psst", visibility="internal"),
                      ticket.comment("thanks", role=Role.CUSTOMER)])
    first = await _apply(database_url, msgs)
    again = await _apply(database_url, msgs)  # a crash before the ack: the same messages again
    assert (len(first.notifications), len(again.notifications), again.applied) == (3, 0, 0)
    rows = await _rows(database_url, "SELECT template, recipient_id, state FROM notify.outbox ORDER BY id")
    assert rows == [("acknowledgement", "user-requester", "pending"),
                    ("comment_added", "user-requester", "pending"),
                    ("comment_added", "user-agent", "pending")]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        assert (await tracked(conn))[:2] == (first.position, len(msgs))


async def test_history_before_notify_first_started_is_projected_but_not_mailed(database_url: str) -> None:
    ticket = History()
    old, new = ticket.opened(), ticket.comment("answer")
    batch = await _apply(database_url, _messages([old, new]), mail_from_seq=2)
    assert [n.template for _, _, _, n in batch.notifications] == ["comment_added"]


async def test_each_family_is_decoded_as_its_own_and_an_undecodable_message_is_parked(
        database_url: str) -> None:
    ticket, third, other = History(), History(), History()
    msgs = [StreamMessage(1, f"helpdesk.ticket.{ticket.ticket_id}.opened", b"{not json"),
            StreamMessage(2, f"helpdesk.sla.{third.ticket_id}.at_risk", b"{}"),
            StreamMessage(3, "helpdesk.webhook.w1.sent", b"{}"),  # a family notify has no use for
            *_messages([other.opened()], first_seq=4)]
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await start_tracking(conn, 1)
        applied, parked = await settle(conn, projection(NoWindows()), msgs)
    assert [(m.stream_seq, reason.split(":")[0]) for m, reason in parked] == [(1, "undecodable"),
                                                                             (2, "undecodable")]
    assert applied == 1  # the other ticket's opening; the webhook is passed over
    assert await _rows(database_url, "SELECT stream_seq FROM notify.parked ORDER BY 1") == [(1,), (2,)]
    assert await _rows(database_url, "SELECT count(*) FROM notify.outbox") == [(1,)]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        assert (await tracked(conn))[1] == 4


async def test_hardening_poison_pill_a_replayed_event_queues_its_mail_at_its_own_position(database_url: str) -> None:
    """Parked comments replayed after the tracking moved on: each mail keeps its event's store position (it had
    the tracking's, one for all of them, and the outbox's order by position was left to chance)."""
    ticket, other = History(), History()
    opened, first, second = ticket.opened(), ticket.comment("first"), ticket.comment("second")
    later = other.opened()
    msgs = _messages([opened, first, second, later])
    await _apply(database_url, [msgs[0], msgs[3]])  # the two comments were parked; the stream went on
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for msg in msgs[1:3]:  # parking.retry: one message at a time, in stream order
            async with conn.transaction():
                await apply_batch(conn, [msg], NoWindows(), replay=True)
    rows = await _rows(database_url, "SELECT context->>'body', position FROM notify.outbox"
                                     f" WHERE template = 'comment_added' AND ticket_id = '{ticket.ticket_id}'"
                                     " ORDER BY position, id DESC")
    assert rows == [("first", first.sequence), ("second", second.sequence)]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        assert (await tracked(conn))[:2] == (later.sequence, 4)  # the tracking never goes back


async def test_redelivered_sla_mail_and_directory_facts_queue_no_mail_twice(database_url: str) -> None:
    ticket = History()
    events = [user_registered(AGENT, "agent@desk.test", role=Role.AGENT), ticket.opened(), ticket.assign(),
              ticket.sla(sla.AtRisk, kind="resolution", due_at=T0),
              mail_fact(mail.MailRefused, "ann@acme.test", reason="no_subject", detail="",
                        customer_id=CUSTOMER_ID)]
    msgs = _messages(events)
    first = await _apply(database_url, msgs)
    again = await _apply(database_url, msgs)  # a crash before the ack: the same messages again
    assert [n.template for *_, n in first.notifications] == ["acknowledgement", "sla_at_risk", "mail_refused"]
    assert (len(again.notifications), again.applied) == (0, 0)
    # the same facts published again later (new stream sequences): the outbox's key still holds
    await _apply(database_url, _messages(events, first_seq=len(msgs) + 1))
    rows = await _rows(database_url, "SELECT template, recipient_id, ticket_id IS NULL FROM notify.outbox"
                                     " ORDER BY id")
    assert rows == [("acknowledgement", "user-requester", False), ("sla_at_risk", AGENT, False),
                    ("mail_refused", "mailto:ann@acme.test", True)]


async def test_a_batch_writes_its_views_and_mail_in_one_statement_each_in_stream_order(database_url: str) -> None:
    """Several tickets' views and mail in one batch: the outbox ids follow the stream, the same SLA fact
    twice in the batch queues one mail, a traceparent stays with its own event's mail."""
    first, second = History(), History()
    warning = first.sla(sla.AtRisk, kind="resolution", due_at=T0)
    events = [user_registered(AGENT, "agent@desk.test", role=Role.AGENT), first.opened(), second.opened(),
              first.assign(), warning, second.comment("a"), warning, first.comment("b", role=Role.CUSTOMER)]
    msgs = _messages(events)
    msgs[5] = dataclasses.replace(msgs[5], msg_id=events[5].id, traceparent=f"00-{'a' * 32}-{'b' * 16}-01")
    batch = await _apply(database_url, msgs)
    assert len(batch.notifications) == 6  # the repeated warning is decided twice, queued once
    rows = await _rows(database_url, "SELECT ticket_id, template, recipient_id, traceparent IS NOT NULL,"
                                     " context->>'subject' FROM notify.outbox ORDER BY id")
    assert [r[:4] for r in rows] == [
        (first.ticket_id, "acknowledgement", "user-requester", False),
        (second.ticket_id, "acknowledgement", "user-requester", False),
        (first.ticket_id, "sla_at_risk", AGENT, False),
        (second.ticket_id, "comment_added", "user-requester", True),
        (first.ticket_id, "comment_added", AGENT, False)]
    assert {r[4] for r in rows} == {"Принтер не печатает"}
    views = dict(await _rows(database_url, "SELECT ticket_id, view FROM notify.tickets"))
    assert views[first.ticket_id]["responsible_id"] == AGENT and views[second.ticket_id]["responsible_id"] is None
    assert msgspec.convert(views[first.ticket_id], TicketView).number == first.number
    positions = dict(await _rows(database_url, "SELECT ticket_id, position FROM notify.tickets"))
    assert positions == {first.ticket_id: events[7].sequence, second.ticket_id: events[5].sequence}


async def test_contacts_come_from_user_and_customer_facts_and_an_admin_override_wins(database_url: str) -> None:
    await _apply(database_url, _messages([
        customer_registered("c-globex", "it@globex.test", name="Globex"),
        user_registered("u-ann", "ann@globex.test", name="Ann", customer_id="c-globex"),
        user_registered("u-bob", "bob@desk.test", name="Bob", role=Role.AGENT)]))
    async with AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False) as pool:
        contacts = ContactsTable(pool)
        found = await contacts.lookup(["u-ann", "u-bob", "c-globex", "u-nobody"])
        assert found == {"u-ann": Contact("u-ann", "ann@globex.test", "Ann", "ru"),
                         "u-bob": Contact("u-bob", "bob@desk.test", "Bob", "ru"),
                         "c-globex": Contact("c-globex", "it@globex.test", "Globex", "ru")}
        await contacts.put("c-globex", None, None, "en")  # the customer's users default to English
        await contacts.put("u-bob", "robert@desk.test", None, None)
        found = await contacts.lookup(["u-ann", "u-bob"])
        assert (found["u-ann"].language, found["u-bob"].email, found["u-bob"].name) == (
            "en", "robert@desk.test", "Bob")
        assert (await contacts.get("u-bob"))["override"] == {"email": "robert@desk.test", "name": None,
                                                             "language": None}
        assert await contacts.delete("u-bob") and (await contacts.lookup(["u-bob"]))["u-bob"].email == (
            "bob@desk.test")
        assert await contacts.get("u-nobody") is None


async def test_a_customers_new_policy_reaches_its_tickets_views(database_url: str) -> None:
    ticket, other = History(), History(customer_id="customer-other")
    await _apply(database_url, _messages([ticket.opened(), other.opened()]))
    await _apply(database_url, _messages([policy_changed(CUSTOMER_ID, "imc")], first_seq=3))
    rows = await _rows(database_url,
                       "SELECT view->>'customer_id', view->>'policy' FROM notify.tickets ORDER BY 1")
    assert rows == [("customer-acme", "imc"), ("customer-other", "keysystems")]


async def test_mail_follows_the_language_a_user_or_their_customer_chose_in_the_directory(database_url: str) -> None:
    await _apply(database_url, _messages([
        customer_registered("c-initech", "it@initech.test", name="Initech"),
        user_registered("u-peter", "peter@initech.test", name="Peter", customer_id="c-initech"),
        user_registered("u-milton", "milton@initech.test", name="Milton", customer_id="c-initech"),
        directory_change(directory.CustomerLanguageChanged, "c-initech", language="en"),
        directory_change(directory.UserLanguageChanged, "u-milton", language="ru"),
        directory_change(directory.UserContactChanged, "u-peter", name="Peter G.", email="pg@initech.test"),
        directory_change(directory.UserBlocked, "u-milton", sessions=1)]))
    async with AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False) as pool:
        contacts = ContactsTable(pool)
        found = await contacts.lookup(["u-peter", "u-milton"])
        assert found == {"u-peter": Contact("u-peter", "pg@initech.test", "Peter G.", "en"),  # the customer's default
                         "u-milton": Contact("u-milton", "milton@initech.test", "Milton", "ru",  # his own
                                             inactive="blocked")}  # MED-4: the sender skips his mail
        await contacts.put("u-milton", None, None, "en")  # an admin's override still wins
        assert (await contacts.lookup(["u-milton"]))["u-milton"].language == "en"
