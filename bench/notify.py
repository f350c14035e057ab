"""Benchmark of notify: mails/s delivered to a local SMTP server (target ≥ 200 mails/s).

Runs its own embedded PostgreSQL and NATS, an SMTP catcher (aiosmtpd, writing .eml files,
as under `make up`) and notify (serve) as a process. Publishes N ticket openings straight
to the HELPDESK stream, as intake's relay would, and times until every acknowledgement
has arrived: that is the whole path (consume → outbox → render → SMTP → mark sent).

Usage: python bench/notify.py [--mails 3000] [--senders 4]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("shared", "services/notify", "devstack", "."):
    sys.path.insert(0, str(ROOT / part))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import httpx  # noqa: E402
import msgspec  # noqa: E402
import nats  # noqa: E402
from helpdesk_devstack import SmtpCatcher, free_port  # noqa: E402

from bench._support import ADMIN_TOKEN, stack  # noqa: E402
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


async def publish(nats_url: str, count: int) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js)
    acks = []
    for n in range(count):
        event = opened(n)
        subject = subjects.ticket_subject(event.data.ticket_id, ev.event_type(event.data))
        acks.append(await js.publish_async(subject, msgspec.json.encode(event),
                                           headers={"Nats-Msg-Id": event.id, POSITION_HEADER: str(n + 1)}))
    await asyncio.gather(*acks)
    await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
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
            started = time.monotonic()
            asyncio.run(publish(ready["HELPDESK_NATS_URL"], args.mails))
            published = time.monotonic()
            first_seen: float | None = None
            while (count := len(smtp.paths())) < args.mails:
                if count and first_seen is None:
                    first_seen = time.monotonic()
                if time.monotonic() - started > 300:
                    raise SystemExit(f"only {count} of {args.mails} mails after 300 s")
                time.sleep(0.02)
            done = time.monotonic()
    total = done - started
    print(f"notify: {args.mails} mails over SMTP with {args.senders} connections in {total:.2f} s "
          f"(published in {published - started:.2f} s)")
    print(f"  end to end: {args.mails / total:.0f} mails/s  (target >= 200)")
    if first_seen is not None:
        print(f"  delivery, first to last mail: {args.mails / (done - first_seen):.0f} mails/s")


if __name__ == "__main__":
    main()
