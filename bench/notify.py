"""Benchmark of the email channel, both ways.

Outgoing (notify): mails/s delivered to a local SMTP server (target ≥ 200 mails/s). Runs
its own embedded PostgreSQL and NATS, an SMTP catcher (aiosmtpd, writing .eml files, as
under `make up`) and notify (serve) as a process. Publishes N ticket openings straight to
the HELPDESK stream, as intake's relay would, and times until every acknowledgement has
arrived: that is the whole path (consume → outbox → render → SMTP → mark sent). Prints
notify's CPU per mail too (steadier than the rate on a shared machine). ``--rate R``
publishes R openings a second instead of all at once: small batches, as at the live edge
of bench/stack.py, where per-commit costs count.

Inbound (intake smtp): messages/s registered through the SMTP listener (target ≥ 100
msg/s), with p50/p99 latency per message — one SMTP transaction (MAIL, RCPT, DATA up to
the 250 reply, which comes once the ticket and the mail's outcome are committed). Runs
intake serve (to provision) and `helpdesk-intake smtp` on a fresh stack; customer users
send over a few connections, as MTAs would; every 10th message carries a 16 KB attachment.

Usage: python bench/notify.py [--mails 3000] [--senders 4] [--rate R] [--inbound 2000]
                              [--connections 8] [--only outgoing|inbound]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/notify", "services/intake", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from email.message import EmailMessage  # noqa: E402

import aiosmtplib  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402
import nats  # noqa: E402
import psycopg  # noqa: E402
from helpdesk_devstack import SmtpCatcher, free_port  # noqa: E402
from helpdesk_devstack.ports import port_open, wait_for  # noqa: E402

from bench._profile import cpu_of  # noqa: E402
from bench._support import ADMIN_TOKEN, latency_line, stack  # noqa: E402
from helpdesk_shared import events as ev  # noqa: E402
from helpdesk_shared import subjects  # noqa: E402
from helpdesk_shared.stream import POSITION_HEADER, ensure_stream  # noqa: E402
from helpdesk_shared.vocabulary import Channel, Role, Status  # noqa: E402

REQUESTERS = 50


def opened(n: int) -> ev.CloudEvent:
    requester = f"user-{n % REQUESTERS}"
    fact = ev.TicketOpened(
        ticket_id=uuid.uuid4().hex, customer_id="customer-bench", version=1, status=Status.NEW,
        actor=ev.Actor(requester, Role.CUSTOMER), occurred_at=dt.datetime.now(dt.UTC),
        number=f"HD-{100000 + n}", subject=f"Benchmark request {n}", description="load",
        channel=Channel.EMAIL, requester_id=requester, policy="keysystems")
    return ev.wrap(fact, event_id=uuid.uuid4().hex, sequence=n + 1, number=fact.number)


async def publish(nats_url: str, count: int, rate: float | None = None) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js)
    acks = []
    start = time.perf_counter()
    for n in range(count):
        if rate:
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        event = opened(n)
        subject = subjects.ticket_subject(event.data.ticket_id, ev.event_type(event.data))
        acks.append(await js.publish_async(subject, msgspec.json.encode(event),
                                           headers={"Nats-Msg-Id": event.id, POSITION_HEADER: str(n + 1)}))
    await asyncio.gather(*acks)
    await nc.close()


def outgoing(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-mail-") as tmp, \
            SmtpCatcher(Path(tmp) / "mail", free_port()) as smtp:
        port = free_port()
        env = {"HELPDESK_SMTP_URL": smtp.url, "HELPDESK_NOTIFY_PORT": str(port),
               "HELPDESK_NOTIFY_SENDERS": str(args.senders)}
        with stack(("helpdesk_notify", "serve"), extra_env=env) as ready:
            admin = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            for n in range(REQUESTERS):
                contact = {"email": f"user{n}@bench.test", "language": "ru" if n % 2 else "en"}
                admin.put(f"/v1/admin/contacts/user-{n}", json=contact).raise_for_status()
            notify = {"notify": int(ready["BENCH_PID_helpdesk_notify_serve"])}
            cpu0 = cpu_of(notify)["notify"]
            started = time.monotonic()
            asyncio.run(publish(ready["HELPDESK_NATS_URL"], args.mails, args.rate))
            published = time.monotonic()
            first_seen: float | None = None
            while (count := len(smtp.paths())) < args.mails:
                if count and first_seen is None:
                    first_seen = time.monotonic()
                if time.monotonic() - started > 300:
                    raise SystemExit(f"only {count} of {args.mails} mails after 300 s")
                time.sleep(0.02)
            done = time.monotonic()
            cpu = cpu_of(notify)["notify"] - cpu0
    total = done - started
    print(f"notify: {args.mails} mails over SMTP with {args.senders} connections in {total:.2f} s "
          f"(published in {published - started:.2f} s)")
    print(f"  end to end: {args.mails / total:.0f} mails/s  (target >= 200)"
          + (f", published at {args.rate:g}/s" if args.rate else ""))
    print(f"  notify CPU: {cpu:.2f} s, {cpu / args.mails * 1000:.3f} ms per mail (one event, one mail)")
    if first_seen is not None:
        print(f"  delivery, first to last mail: {args.mails / (done - first_seen):.0f} mails/s")


# -- inbound ------------------------------------------------------------------------------

def inbound_mail(n: int, users: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Bench User {n % users} <user{n % users}@bench.test>"
    mail["To"] = "support@desk.test"
    mail["Subject"] = f"Не работает печать, запрос {n}"
    mail["Message-ID"] = f"<bench-{n}-{uuid.uuid4().hex}@bench.test>"
    mail.set_content("Добрый день!\nПосле обновления печать зависает.\n" * 10)
    if n % 10 == 0:
        mail.add_attachment(os.urandom(16 * 1024), maintype="image", subtype="png", filename=f"screen-{n}.png")
    return mail.as_bytes()


async def send_inbound(port: int, messages: list[bytes], connections: int) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    replies: list[str] = []
    queue = list(reversed(messages))

    async def mta() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await smtp.connect()
        while queue:
            raw = queue.pop()
            started = time.monotonic()
            await smtp.mail("mta@bench.test")
            await smtp.rcpt("support@desk.test")
            reply = await smtp.data(raw)
            latencies.append(time.monotonic() - started)
            replies.append(reply.message)
        await smtp.quit()

    await asyncio.gather(*(mta() for _ in range(connections)))
    return latencies, replies


def inbound(args: argparse.Namespace) -> None:
    users = 50
    port = free_port()
    with stack(("helpdesk_intake", "serve"), ("helpdesk_intake", "smtp"),
               extra_env={"HELPDESK_INBOUND_SMTP_PORT": str(port)}) as ready:
        wait_for(lambda: port_open("127.0.0.1", port), 30, "the SMTP listener")
        admin = httpx.Client(base_url=f"http://127.0.0.1:{ready['HELPDESK_INTAKE_PORT']}",
                             headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
        customer = admin.post("/v1/customers", json={"name": "Bench", "email": "it@bench.test",
                                                     "policy": "keysystems"}).json()["id"]
        for n in range(users):
            admin.post(f"/v1/customers/{customer}/users", json={
                "name": f"User {n}", "email": f"user{n}@bench.test", "login": f"bench-{n}",
                "password": "bench-password", "phone": "+7 495 000-00-00"}).raise_for_status()  # KS-9
        messages = [inbound_mail(n, users) for n in range(args.inbound)]
        asyncio.run(send_inbound(port, messages[:50], 2))  # warm up: connections, caches
        started = time.monotonic()
        latencies, replies = asyncio.run(send_inbound(port, messages[50:], args.connections))
        total = time.monotonic() - started
        with psycopg.connect(ready["HELPDESK_DATABASE_URL"]) as conn:
            stored = conn.execute("SELECT count(*) FROM intake.intake_events"
                                  " WHERE topic = 'helpdesk:InboundMail.Registered'").fetchone()[0]
    sent = len(messages) - 50
    registered = sum(reply.startswith("2.0.0 registered") for reply in replies)
    print(f"intake smtp: {sent} messages over {args.connections} SMTP connections in {total:.2f} s; "
          f"{registered} answered registered, {stored} outcomes stored (incl. 50 warm-up)")
    print(f"  inbound: {sent / total:.0f} msg/s  (target >= 100)")
    print(f"  latency per message (MAIL..DATA 250): {latency_line(latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--rate", type=float, help="openings published per second (default: all at once)")
    parser.add_argument("--inbound", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", choices=["outgoing", "inbound"])
    args = parser.parse_args()
    if args.only != "inbound":
        outgoing(args)
    if args.only != "outgoing":
        inbound(args)


if __name__ == "__main__":
    main()
