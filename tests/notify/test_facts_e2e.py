"""notify as a real process on real NATS, PostgreSQL and SMTP, fed hand-made facts on the stream.

SLA facts, inbound-mail outcomes and directory facts are published as the SLA service
and intake's relay would publish them, so each rule is shown without running the
services that produce them. One notify serves the whole module (each test uses its own
people and tickets); the last test restarts it to redeliver everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import nats
import psycopg
import pytest
from helpdesk_devstack import SmtpCatcher, free_port

from helpdesk_shared import directory_events as directory
from helpdesk_shared import events as ev
from helpdesk_shared import mail_events as mail
from helpdesk_shared import sla_events as sla
from helpdesk_shared.vocabulary import Role, Status

from tests.conftest import SERVICES_KEY
from tests.notify.facts import History, directory_change, mail_fact, publish, user_registered
from tests.notify.mail import ADMIN, text_of
from tests.support import servers
from tests.support.processes import ServiceProcess, Services, base_env
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
DUE = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # 18:00 in Moscow
_numbers = itertools.count(5001)


@dataclass
class Alone:
    """notify alone, with the servers it uses."""

    notify: ServiceProcess
    services: Services
    nats_url: str
    database_url: str
    smtp: SmtpCatcher
    admin: httpx.Client

    def publish(self, *events: ev.CloudEvent) -> None:
        publish(self.nats_url, events)

    def mails_to(self, address: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        """Wait for ``count`` mails to ``address``; return them, oldest first."""
        def arrived() -> list[EmailMessage]:
            mails = [m for m in self.smtp.messages() if m["X-RcptTo"] == address]
            return mails if len(mails) >= count else []
        return wait_until(arrived, timeout=timeout, message=f"{count} mail(s) to {address}")

    def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        response = self.admin.get("/v1/admin/deliveries", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest.fixture(scope="module")
def alone(postgres_server: servers.PostgresServer, tmp_path_factory: pytest.TempPathFactory,
          request: pytest.FixtureRequest) -> Iterator[Alone]:
    tmp = tmp_path_factory.mktemp("notify-facts")
    with servers.fresh_database(postgres_server) as database_url, contextlib.ExitStack() as stack:
        if servers.use_docker():
            nats_url = request.getfixturevalue("nats_server").url
            servers.purge_jetstream(nats_url)
        else:
            nats_url = stack.enter_context(servers.nats_server(tmp)).url
        smtp = stack.enter_context(SmtpCatcher(tmp / "mail", free_port()))
        factory = Services(base_env(database_url, nats_url, smtp.url, tmp / "data"), tmp)
        try:
            notify = factory.start("notify", "serve")
            yield Alone(notify, factory, nats_url, database_url, smtp,
                        httpx.Client(base_url=notify.url, headers=ADMIN, timeout=10))
        finally:
            factory.stop_all()


@pytest.fixture(autouse=True)
def _logs_on_failure(alone: Alone, request: pytest.FixtureRequest) -> None:
    request.node.stash[SERVICES_KEY] = alone.services  # a failing test's report shows notify's log


def people(role: Role = Role.CUSTOMER, **fields: Any) -> tuple[str, str, ev.CloudEvent]:
    """A fresh user: (id, address, their helpdesk.user.<id>.registered fact)."""
    user_id = f"u-{uuid.uuid4().hex[:10]}"
    address = f"{user_id}@{'desk' if role is not Role.CUSTOMER else 'acme'}.test"
    return user_id, address, user_registered(user_id, address, name=f"Name {user_id}", role=role, **fields)


def test_imc8_at_risk_and_breach_mail_the_responsible_agent(alone: Alone) -> None:
    requester, _, requester_fact = people()
    agent, agent_address, agent_fact = people(Role.AGENT)
    ticket = History(f"HD-{next(_numbers)}")
    alone.publish(requester_fact, agent_fact, ticket.opened(requester, policy="imc"), ticket.assign(agent),
                  ticket.sla(sla.AtRisk, policy="imc", kind="resolution", due_at=DUE),
                  ticket.sla(sla.Breached, policy="imc", kind="resolution", due_at=DUE))
    mails = {m["Subject"]: m for m in alone.mails_to(agent_address, 2)}  # senders work in parallel
    at_risk = mails[f"[#{ticket.number}] Срок под угрозой (решение): Принтер не печатает"]
    assert f"[#{ticket.number}] Срок нарушен (решение): Принтер не печатает" in mails
    assert "04.03.2026 18:00 (UTC+03:00)" in text_of(at_risk)  # in the IMC calendar's zone
    assert at_risk["In-Reply-To"] == f"<ticket-{ticket.ticket_id}@helpdesk>"
    assert "http" not in text_of(at_risk)


def test_end4_weekly_reminder_mails_the_requester_the_question_asked(alone: Alone) -> None:
    requester, address, requester_fact = people()
    ticket = History(f"HD-{next(_numbers)}")
    waiting = Status.AWAITING_CUSTOMER
    alone.publish(requester_fact, ticket.opened(requester, policy="endocs"),
                  ticket.move(ev.ClarificationRequested, status=waiting, comment="Пришлите журнал обмена"),
                  ticket.sla(sla.ReminderDue, policy="endocs", status=waiting),
                  ticket.sla(sla.ReminderDue, policy="endocs", status=waiting))
    mails = alone.mails_to(address, 4)  # acknowledgement, question, two weekly reminders (any order)
    reminders = [m for m in mails if "Ждём вашего ответа" in m["Subject"]]
    assert len(reminders) == 2
    for reminder in reminders:
        assert reminder["Subject"] == f"[#{ticket.number}] Ждём вашего ответа: Принтер не печатает"
        assert "> Пришлите журнал обмена" in text_of(reminder)
    assert reminders[0]["Message-ID"] != reminders[1]["Message-ID"]  # one mail per weekly fact


def test_ks1_mail_without_a_subject_is_answered_saying_why(alone: Alone) -> None:
    sender = f"ks1-{uuid.uuid4().hex[:8]}@acme.test"
    alone.publish(mail_fact(mail.MailRefused, sender, reason="no_subject", detail="no Subject",
                            message_id="<no-subject-1@acme.test>", customer_id="c1"))
    [reply] = alone.mails_to(sender)
    assert reply["Subject"] == "Обращение не зарегистрировано: в письме нет темы"
    assert "не зарегистрировано, потому что в письме нет темы" in text_of(reply)
    assert reply["In-Reply-To"] == "<no-subject-1@acme.test>" and reply["Auto-Submitted"] == "auto-replied"


def test_med4_mail_from_a_blocked_customer_is_answered_saying_why_in_its_language(alone: Alone) -> None:
    sender = f"med4-{uuid.uuid4().hex[:8]}@acme.test"
    alone.publish(mail_fact(mail.MailRefused, sender, "Invoices", reason="customer_blocked", detail="inactive",
                            customer_id="c-blocked", language="en"))
    [reply] = alone.mails_to(sender)
    assert reply["Subject"] == "Your request was not registered: Invoices"
    assert "no active support contract" in text_of(reply)


def test_imc3_mail_from_a_non_user_is_forwarded_to_the_customer_address(alone: Alone) -> None:
    customer_address = f"it-{uuid.uuid4().hex[:8]}@acme.test"
    shot = ev.Attachment(id="a" * 64, filename="screen.png", content_type="image/png", size=3 * 1024 * 1024)
    alone.publish(mail_fact(mail.MailForwarded, "stranger@acme.test", "Не печатает", customer_id="c1",
                            forward_to=customer_address, text="Принтер горит.\nПомогите!", attachments=(shot,)))
    [forward] = alone.mails_to(customer_address)
    text = text_of(forward)
    assert forward["Subject"] == "Письмо от незарегистрированного отправителя: Не печатает"
    assert "stranger@acme.test" in text and "не зарегистрирован" in text
    assert "> Принтер горит.\n> Помогите!" in text and "- screen.png (3 МБ)" in text
    [row] = [r for r in alone.deliveries() if r["recipient_id"] == f"mailto:{customer_address}"]
    assert (row["state"], row["ticket_id"], row["template"]) == ("sent", None, "mail_forwarded")


def test_tel6_acknowledgement_of_an_email_ticket_answers_the_customers_message(alone: Alone) -> None:
    requester, address, requester_fact = people()
    ticket = History(f"HD-{next(_numbers)}")
    shot = ev.Attachment(id="b" * 64, filename="error.png", size=1536)
    alone.publish(requester_fact, ticket.opened(requester, message_id="<orig-tel6@acme.test>",
                                                attachments=(shot,)))
    [ack] = alone.mails_to(address)
    root = f"<ticket-{ticket.ticket_id}@helpdesk>"
    assert ack["Subject"] == f"[#{ticket.number}] Заявка зарегистрирована: Принтер не печатает"
    assert ack["In-Reply-To"] == "<orig-tel6@acme.test>"
    assert ack["References"] == f"<orig-tel6@acme.test> {root}"
    assert ack["To"] == f"Name {requester} <{address}>"  # from helpdesk.user.<id>.registered, no provisioning
    assert "- error.png (1,5 КБ)" in text_of(ack)


def test_ks_6_solution_of_email_ticket_goes_back_by_email(alone: Alone) -> None:
    requester, address, requester_fact = people()
    ticket = History(f"HD-{next(_numbers)}")
    alone.publish(requester_fact, ticket.opened(requester, message_id="<orig-ks6@acme.test>"),
                  ticket.move(ev.Accepted),
                  ticket.move(ev.SolutionProposed, status=Status.CUSTOMER_TESTING,
                              from_status=Status.IN_PROGRESS, comment="Обновите драйвер принтера до версии 5.2"))
    [solution] = [m for m in alone.mails_to(address, 2) if "Предложено решение" in m["Subject"]]
    assert solution["Subject"] == f"[#{ticket.number}] Предложено решение: Принтер не печатает"
    assert "> Обновите драйвер принтера до версии 5.2" in text_of(solution)
    assert "<orig-ks6@acme.test>" in solution["References"]  # in the thread of the customer's own mail


def test_mail_for_a_recipient_without_an_address_is_dead_until_an_admin_adds_one_and_retries(
        alone: Alone) -> None:
    stranger = f"u-unregistered-{uuid.uuid4().hex[:8]}"  # no helpdesk.user fact ever named them
    ticket = History(f"HD-{next(_numbers)}")
    alone.publish(ticket.opened(stranger))
    [dead] = wait_until(lambda: alone.deliveries(state="dead", ticket_id=ticket.ticket_id), timeout=15)
    assert "no contact" in dead["last_error"]
    response = alone.admin.put(f"/v1/admin/contacts/{stranger}", json={"email": f"{stranger}@acme.test"})
    assert response.status_code == 200 and response.json()["in_directory"] is False
    assert alone.admin.post(f"/v1/admin/deliveries/{dead['id']}/retry").status_code == 202
    alone.mails_to(f"{stranger}@acme.test")


def test_med4_imc2_a_deactivated_user_gets_no_more_mail_the_customers_other_contacts_do(alone: Alone) -> None:
    gone, gone_address, gone_fact = people()
    colleague, colleague_address, colleague_fact = people()
    ticket, other = History(f"HD-{next(_numbers)}"), History(f"HD-{next(_numbers)}")
    alone.publish(gone_fact, colleague_fact, ticket.opened(gone))
    alone.mails_to(gone_address)  # the acknowledgement, while still active
    alone.publish(directory_change(directory.UserDeactivated, gone, sessions=1),
                  ticket.comment("Обновите драйвер"), other.opened(colleague))
    alone.mails_to(colleague_address)  # the customer's other contact still hears
    [skipped] = wait_until(lambda: alone.deliveries(state="skipped", ticket_id=ticket.ticket_id), timeout=15)
    assert skipped["recipient_id"] == gone and "deactivated" in skipped["last_error"]
    assert len([m for m in alone.smtp.messages() if m["X-RcptTo"] == gone_address]) == 1
    metrics = httpx.get(f"{alone.notify.url}/metrics", timeout=10).text.splitlines()
    [counted] = [line for line in metrics if line.startswith("helpdesk_notify_mails_skipped_total ")]
    assert float(counted.split()[1]) >= 1


def test_med4_a_blocked_user_gets_no_mail_until_unblocked_and_an_admin_may_resend_what_was_skipped(
        alone: Alone) -> None:
    blocked, address, fact = people()
    ticket = History(f"HD-{next(_numbers)}")
    alone.publish(fact, directory_change(directory.UserBlocked, blocked, sessions=1, reason="spam"),
                  ticket.opened(blocked))
    [skipped] = wait_until(lambda: alone.deliveries(state="skipped", ticket_id=ticket.ticket_id), timeout=15)
    assert "blocked" in skipped["last_error"]
    alone.publish(directory_change(directory.UserUnblocked, blocked), ticket.comment("Ответ после разблокировки"))
    [answer] = alone.mails_to(address)
    assert "Ответ после разблокировки" in text_of(answer)  # mail flows again; the skipped one stayed unsent
    assert alone.admin.post(f"/v1/admin/deliveries/{skipped['id']}/retry").status_code == 202
    assert "Заявка зарегистрирована" in alone.mails_to(address, 2)[-1]["Subject"]


def test_an_undecodable_message_is_parked_and_never_blocks_the_next(alone: Alone) -> None:
    sender = f"after-{uuid.uuid4().hex[:8]}@acme.test"

    async def garbage() -> None:
        nc = await nats.connect(alone.nats_url)
        try:
            await nc.jetstream().publish(f"helpdesk.sla.{uuid.uuid4().hex}.at_risk", b'{"type": "nonsense"}')
        finally:
            await nc.close()
    asyncio.run(garbage())
    alone.publish(mail_fact(mail.MailRefused, sender, "x", reason="malformed", detail="no body", customer_id="c1"))
    alone.mails_to(sender)
    with psycopg.connect(alone.database_url) as conn:
        reasons = [r[0] for r in conn.execute(
            "SELECT reason FROM notify.parked WHERE subject LIKE 'helpdesk.sla.%'")]
    assert reasons and reasons[0].startswith("undecodable")


def test_exactly_once_under_redelivery_and_republishing(alone: Alone) -> None:
    requester, address, requester_fact = people()
    agent, agent_address, agent_fact = people(Role.AGENT)
    ticket = History(f"HD-{next(_numbers)}")
    sender = f"again-{uuid.uuid4().hex[:8]}@acme.test"
    facts = [requester_fact, agent_fact, ticket.opened(requester), ticket.assign(agent),
             ticket.sla(sla.AtRisk, kind="resolution", due_at=DUE),
             mail_fact(mail.MailRefused, sender, reason="no_subject", detail="", customer_id="c1")]
    alone.publish(*facts)
    for who in (address, agent_address, sender):
        alone.mails_to(who)
    wait_until(lambda: not alone.deliveries(state="pending") and not alone.deliveries(state="sending"))
    mails, rows = len(alone.smtp.paths()), len(alone.deliveries())

    # the whole stream again (as after lost acks), then every fact once more under new message ids
    alone.notify.terminate()
    with psycopg.connect(alone.database_url, autocommit=True) as conn:
        conn.execute("UPDATE notify.tracking SET stream_seq = 0")
    alone.notify.start()
    publish(alone.nats_url, facts, msg_id_suffix=":again")
    last = _last_stream_seq(alone.nats_url)
    wait_until(lambda: _tracked_stream_seq(alone.database_url) >= last, timeout=20)
    assert len(alone.deliveries()) == rows and not alone.deliveries(state="pending")
    assert len(alone.smtp.paths()) == mails


def _last_stream_seq(nats_url: str) -> int:
    async def last() -> int:
        nc = await nats.connect(nats_url)
        try:
            return (await nc.jetstream().stream_info("HELPDESK")).state.last_seq
        finally:
            await nc.close()
    return asyncio.run(last())


def _tracked_stream_seq(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT stream_seq FROM notify.tracking").fetchone()
    return int(row[0]) if row else 0

