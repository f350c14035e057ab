"""Mail for the email channel's tests: building messages, delivering them, checking the store."""

from __future__ import annotations

import asyncio
import json
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import psycopg

from tests.support.processes import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RFC822 = {**ADMIN, "Content-Type": "message/rfc822"}


def message(sender: str, subject: str | None = "Printer does not print", body: str = "It hangs.", *,
            message_id: str | None = "auto", charset: str = "utf-8", cte: str | None = None,
            html: str | None = None, attachments: tuple[tuple[str, str, bytes], ...] = (),
            headers: dict[str, str] | None = None) -> bytes:
    """A well-formed message (``email.message.EmailMessage``); ``html`` alone makes it HTML-only."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@desk.test"
    if subject is not None:
        mail["Subject"] = subject
    if message_id:
        mail["Message-ID"] = f"<{uuid.uuid4().hex}@test>" if message_id == "auto" else message_id
    for name, value in (headers or {}).items():
        mail[name] = value
    if html is not None and not body:
        mail.set_content(html, subtype="html", charset=charset, cte=cte)
    else:
        mail.set_content(body, charset=charset, cte=cte)
        if html is not None:
            mail.add_alternative(html, subtype="html")
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes()


def deliver(client: Any, raw: bytes, headers: dict[str, str] | None = None) -> Any:
    """POST the raw message to /v1/inbound/email (as admin)."""
    return client.post("/v1/inbound/email", content=raw, headers=headers or RFC822)


async def send_smtp(port: int, raw: bytes, *, sender: str = "mta@sender.test",
                    client: aiosmtplib.SMTP | None = None) -> tuple[int, str]:
    """Hand one message to the listener as an MTA would; the (code, text) of the reply to DATA."""
    smtp = client or aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    if client is None:
        await smtp.connect()
    try:
        await smtp.mail(sender)
        await smtp.rcpt("support@desk.test")
        reply = await smtp.data(raw)
        return reply.code, reply.message
    except aiosmtplib.SMTPResponseException as error:
        await _reset(smtp)
        return error.code, error.message
    finally:
        if client is None:
            await _quit(smtp)


async def _reset(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.rset()
    except aiosmtplib.SMTPException:
        pass


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except aiosmtplib.SMTPException:
        smtp.close()


def send_all(port: int, messages: list[bytes], connections: int = 4) -> list[tuple[int, str]]:
    """Deliver ``messages`` over a few reused connections; the replies, in order."""
    async def run() -> list[tuple[int, str]]:
        replies: list[tuple[int, str]] = [(0, "")] * len(messages)
        queue = list(enumerate(messages))[::-1]

        async def worker() -> None:
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
            await smtp.connect()
            while queue:
                n, raw = queue.pop()
                if not smtp.is_connected:
                    await smtp.connect()
                replies[n] = await send_smtp(port, raw, client=smtp)
            await _quit(smtp)

        await asyncio.gather(*(worker() for _ in range(connections)))
        return replies
    return asyncio.run(run())


def mail_events(database_url: str) -> list[dict[str, Any]]:
    """Every stored InboundMail event: ``kind`` (Registered, ...), ``mail_id`` and its state."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, convert_from(state, 'UTF8') FROM intake.intake_events"
            " WHERE topic LIKE 'helpdesk:InboundMail.%%' ORDER BY notification_id").fetchall()
    return [{"mail_id": str(mail_id), "version": version, "kind": topic.rsplit(".", 1)[1], **json.loads(state)}
            for mail_id, version, topic, state in rows]


def assert_no_half_written_outcome(database_url: str) -> list[dict[str, Any]]:
    """Every mail has exactly one outcome, and every registered one's ticket event exists."""
    events = mail_events(database_url)
    ids = [e["mail_id"] for e in events]
    assert len(ids) == len(set(ids)) and all(e["version"] == 1 for e in events), "one outcome per mail"
    with psycopg.connect(database_url) as conn:
        for event in (e for e in events if e["kind"] == "Registered"):
            if event["comment_id"]:
                found = conn.execute(
                    "SELECT 1 FROM intake.intake_events WHERE originator_id = %s AND topic = 'helpdesk:Ticket.CommentAdded'"
                    " AND convert_from(state, 'UTF8')::jsonb->>'comment_id' = %s",
                    (event["ticket_id"], event["comment_id"])).fetchone()
            else:
                found = conn.execute(
                    "SELECT 1 FROM intake.intake_events WHERE originator_id = %s AND topic = 'helpdesk:Ticket.Opened'",
                    (event["ticket_id"],)).fetchone()
            assert found, f"mail {event['mail_id']} names a ticket event that is not there"
    return events


def ticket_events(database_url: str, ticket_id: str) -> list[dict[str, Any]]:
    """A ticket's stored events, oldest first: ``kind`` (Opened, CommentAdded, ...) and their state."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT topic, convert_from(state, 'UTF8') FROM intake.intake_events"
                            " WHERE originator_id = %s ORDER BY originator_version", (ticket_id,)).fetchall()
    return [{"kind": topic.rsplit(".", 1)[1], **json.loads(state)} for topic, state in rows]


def start_listener(services: Any, env: dict[str, str] | None = None, timeout: float = 20) -> tuple[Any, int]:
    """``helpdesk-intake smtp`` as a process; ready once it accepts connections (it binds after connecting)."""
    from helpdesk_devstack.ports import port_open

    from tests.support.waiting import wait_until

    port = int((env or {}).get("HELPDESK_INBOUND_SMTP_PORT") or services.env["HELPDESK_INBOUND_SMTP_PORT"])
    listener = services.start("intake", "smtp", env=env, wait_ready=False)

    def ready() -> bool:
        if not listener.running():
            raise RuntimeError(f"the SMTP listener exited\n{listener.log_tail()}")
        return port_open("127.0.0.1", port)
    wait_until(ready, timeout=timeout, message=f"the SMTP listener did not listen on {port}")
    return listener, port
