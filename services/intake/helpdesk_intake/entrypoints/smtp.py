"""``helpdesk-intake smtp``: the inbound SMTP listener (CONTRACT §1: port 2526).

Each message is handed to the same use case as ``POST /v1/inbound/email``; the reply
to DATA tells the sending MTA what to do with it:
- ``250`` once an outcome is recorded — refusals too, as notify mails the sender why;
- ``451`` on a passing failure (database or NATS down, or anything unexpected), so
  the MTA keeps the message and tries again later;
- ``552`` over the size limit (aiosmtpd's ``data_size_limit``, advertised as SIZE); lines
  longer than RFC 5321's 1,000 octets, which real mailers send, are accepted up to it;
- ``550`` for a message without even a readable From address (nothing is recorded;
  the MTA bounces it to the envelope sender). aiosmtpd answers protocol garbage itself.
It is not a relay: it accepts any recipient, since it only ever ingests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from opentelemetry import trace
from prometheus_client import Counter

from helpdesk_shared.telemetry import current_traceparent
from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.application import Request
from helpdesk_intake.application.inbound import InboundMailService, MailUnavailable, Unreadable

log = logging.getLogger("helpdesk.intake.smtp")
tracer = trace.get_tracer("helpdesk.intake.smtp")
PRINCIPAL = Principal(id="smtp-listener", role=Role.SERVICE)
DRAIN_SECONDS = 10.0
MESSAGES = Counter("helpdesk_smtp_messages_total", "Messages the inbound SMTP listener answered at DATA, by reply",
                   ["reply"])


class Listener(SMTP):
    """aiosmtpd's SMTP session, reading lines as long as the whole message may be (not 1,000 octets)."""

    def __init__(self, handler: InboundHandler, *, data_size_limit: int, **options: Any) -> None:
        # aiosmtpd sizes its stream reader's line buffer from this in __init__ (its class default is 1,001)
        self.line_length_limit = data_size_limit + len(b".\r\n")
        super().__init__(handler, data_size_limit=data_size_limit, **options)


class InboundHandler:
    """aiosmtpd's handler: every DATA becomes one call of the inbound use case, in a worker thread."""

    def __init__(self, inbound: InboundMailService) -> None:
        self._inbound = inbound
        self.in_flight = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await self._record(envelope)
        MESSAGES.labels(reply[:3]).inc()
        return reply

    async def _record(self, envelope: Envelope) -> str:
        self.in_flight += 1
        try:
            with tracer.start_as_current_span("smtp DATA", kind=trace.SpanKind.SERVER):
                request = Request(principal=PRINCIPAL, traceparent=current_traceparent())
                outcome = await asyncio.to_thread(self._inbound.receive, envelope.original_content or b"", request,
                                                    null_sender=envelope.mail_from in ("", "<>"))
                log.info("recorded inbound mail %s: %s", outcome.body["mail_id"], outcome.body["outcome"])
        except Unreadable as unreadable:
            return f"550 5.6.0 {_one_line(unreadable.detail)}"
        except MailUnavailable as error:
            log.warning("cannot record a message now: %s", error)
            return "451 4.3.0 the message cannot be recorded now; try again later"
        except Exception:  # noqa: BLE001 - a bug must cost a retry, never the listener
            log.exception("failed to record a message")
            return "451 4.3.0 local error; try again later"
        finally:
            self.in_flight -= 1
        return f"250 2.0.0 {outcome.body['outcome']} {outcome.body['mail_id']}"


async def serve(inbound: InboundMailService, *, host: str, port: int, max_message_bytes: int,
                stopping: asyncio.Event) -> None:
    """Listen until ``stopping`` is set, then let the messages being recorded finish."""
    loop = asyncio.get_running_loop()
    handler = InboundHandler(inbound)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO

    def protocol() -> Any:
        return Listener(handler, data_size_limit=max_message_bytes, enable_SMTPUTF8=True, loop=loop,
                    hostname=socket.gethostname(), ident="helpdesk intake", timeout=60)

    server = await loop.create_server(protocol, host=host, port=port)
    log.info("inbound SMTP listening on %s:%d", host, port)
    await stopping.wait()
    server.close()
    for _ in range(int(DRAIN_SECONDS / 0.05)):
        if not handler.in_flight:
            break
        await asyncio.sleep(0.05)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
