"""The inbound SMTP listener as a real process (`helpdesk-intake smtp`), with intake and the relay.

Mail goes in as an MTA hands it over (aiosmtplib); outcomes come out as facts on
``helpdesk.mail.<mail_id>.<event>`` and ticket facts, for notify to act on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from helpdesk_devstack import EmbeddedNats, free_port

from tests.support.desk import Desk, provision
from tests.support.hostile_mail import corpus
from tests.support.mail import (assert_no_half_written_outcome, mail_events, message, send_all, send_smtp,
                                start_listener)
from tests.support.stream import read_all
from tests.support.waiting import wait_until

ANN = "user@acme.test"
ACCEPTED = re.compile(r"^2\.0\.0 (registered|refused|forwarded) ([0-9a-f-]{36})$")


def send(port: int, raw: bytes) -> tuple[int, str]:
    return asyncio.run(send_smtp(port, raw))


def facts(nats_url: str, subject: str, count: int) -> list[dict]:
    messages = wait_until(lambda: (m := read_all(nats_url, subject)) and len(m) >= count and m, timeout=20)
    return [json.loads(m.data) for m in messages]


def test_mail_over_smtp_opens_a_ticket_and_its_facts_reach_the_stream(services, nats_url):
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    _, port = start_listener(services)
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        provision(client)
    png = b"\x89PNG" + bytes(range(256))
    code, text = send(port, message(ANN, "Не печатает принтер", "Ошибка E-17.", message_id="<smtp-1@acme.test>",
                                    attachments=(("экран.png", "image/png", png),)))
    assert code == 250 and (accepted := ACCEPTED.match(text)) and accepted.group(1) == "registered", text
    (registered,) = facts(nats_url, f"helpdesk.mail.{accepted.group(2)}.registered", 1)
    (opened,) = facts(nats_url, f"helpdesk.ticket.{registered['data']['ticket_id']}.opened", 1)
    assert (opened["data"]["channel"], opened["data"]["subject"]) == ("email", "Не печатает принтер")
    assert opened["data"]["message_id"] == "<smtp-1@acme.test>" and opened["ticketnumber"] == registered["data"]["number"]
    assert opened["data"]["attachments"] == [{"id": hashlib.sha256(png).hexdigest(), "filename": "экран.png",
                                              "content_type": "image/png", "size": len(png)}]


def test_med_6_a_bounce_with_an_empty_reverse_path_is_never_a_ticket_nor_a_clarification(services, nats_url):
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    _, port = start_listener(services)
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        provision(client)
    bounce = message(ANN, "Undelivered Mail Returned to Sender", "The mail system could not deliver ...")
    code, text = asyncio.run(send_smtp(port, bounce, sender=""))  # MAIL FROM:<>
    assert code == 250 and (accepted := ACCEPTED.match(text)) and accepted.group(1) == "refused", text
    (refused,) = facts(nats_url, f"helpdesk.mail.{accepted.group(2)}.refused", 1)
    assert refused["data"]["reason"] == "auto_reply"
    assert read_all(nats_url, "helpdesk.ticket.*.opened") == []


def test_ks_1_and_imc_3_over_smtp_the_refusal_and_the_forward_are_published_for_notify(services, nats_url):
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    _, port = start_listener(services)
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        provision(client)
    assert send(port, message(ANN, None))[0] == 250
    assert send(port, message("boss@acme.test", "From the boss", "Look at this."))[0] == 250
    (refused,) = facts(nats_url, "helpdesk.mail.*.refused", 1)
    assert (refused["data"]["reason"], refused["data"]["sender"], refused["data"]["language"]) == (
        "no_subject", ANN, "ru")
    (forwarded,) = facts(nats_url, "helpdesk.mail.*.forwarded", 1)
    assert (forwarded["data"]["forward_to"], forwarded["data"]["text"]) == ("it@acme.test", "Look at this.")


def test_one_mail_delivered_to_two_listeners_at_once_has_one_outcome(services, database_url):
    intake = services.start("intake", "serve")
    _, first = start_listener(services)
    _, second = start_listener(services, env={"HELPDESK_INBOUND_SMTP_PORT": str(free_port())})
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        provision(client)
    raw = message(ANN, "Sent by several MTAs at once", message_id="<race@acme.test>")
    with ThreadPoolExecutor(6) as pool:  # two processes: the store's unique key decides, not a lock
        replies = list(pool.map(lambda n: send((first, second)[n % 2], raw), range(6)))
    assert {code for code, _ in replies} == {250}
    assert len({ACCEPTED.match(text).group(2) for _, text in replies}) == 1  # type: ignore[union-attr]
    (outcome,) = assert_no_half_written_outcome(database_url)
    assert outcome["kind"] == "Registered"


def test_the_listener_survives_hostile_mail_and_every_accepted_one_has_exactly_one_outcome(services, database_url):
    intake = services.start("intake", "serve")
    listener, port = start_listener(services)
    with httpx.Client(base_url=intake.url, timeout=30) as client:
        desk: Desk = provision(client)
        desk.open()  # HD-1001, for replies to name
    hostile = corpus(120, seed=26)
    hostile.insert(60, message(ANN, "A 30 MB attachment", attachments=(
        ("dump.bin", "application/octet-stream", bytes(30 * 1024 * 1024)),)))
    replies = send_all(port, hostile, connections=4)
    accepted = {}
    for n, (code, text) in enumerate(replies):
        assert code == 250 or 500 <= code < 600, (n, code, text, hostile[n][:300])
        if code == 250:
            outcome, mail_id = ACCEPTED.match(text).groups()  # type: ignore[union-attr]
            accepted.setdefault(mail_id, outcome)
    assert replies[60][0] == 552  # over the size limit, refused by the protocol
    assert listener.running()
    assert send(port, message(ANN, "Still listening"))[0] == 250
    events = assert_no_half_written_outcome(database_url)
    assert len(events) == len(accepted) + 1 and len(accepted) > 60


def test_a_passing_failure_answers_451_so_the_mta_retries_and_the_retry_is_recorded(services, tmp_path: Path,
                                                                                     database_url):
    nats = EmbeddedNats(tmp_path / "own-nats", free_port()).start()
    try:
        env = {"HELPDESK_NATS_URL": nats.url}
        intake = services.start("intake", "serve", env=env)
        _, port = start_listener(services, env=env)
        with httpx.Client(base_url=intake.url, timeout=30) as client:
            provision(client)
        raw = message(ANN, "With a file", attachments=(("a.txt", "text/plain", b"attached"),))
        nats.stop()
        code, text = send(port, raw)
        assert code == 451, text
        assert mail_events(database_url) == []
        nats.start()
        wait_until(lambda: send(port, raw)[0] == 250, timeout=30, interval=0.5)
        (outcome,) = assert_no_half_written_outcome(database_url)
        assert outcome["kind"] == "Registered"
    finally:
        nats.stop()
