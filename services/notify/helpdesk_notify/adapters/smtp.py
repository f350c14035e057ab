"""Outgoing SMTP over one kept-open connection (aiosmtplib): the ``Mailer`` port's adapter.

``smtp://host:port`` is plain (optionally upgraded with STARTTLS), ``smtps://`` is
implicit TLS; credentials, when set, log in. A 5xx answer is permanent; everything
else (refused connections, timeouts, 4xx) is a passing failure worth a retry.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from helpdesk_notify.application import DeliveryFailed

IDLE_CHECK_SECONDS = 10.0  # a connection idle longer is checked with NOOP before use


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str, starttls: bool = False, username: str | None = None,
                 password: str | None = None, timeout: float = 10.0) -> SmtpServer:
        """``smtp://[user:pass@]host[:port]`` or ``smtps://…``; explicit settings win over the URL's."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"HELPDESK_SMTP_URL must be smtp://host:port or smtps://host:port, got {url!r}")
        tls = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if tls else 25), tls, starttls and not tls,
                   username or (unquote(parts.username) if parts.username else None),
                   password or (unquote(parts.password) if parts.password else None), timeout)


class SmtpMailer:
    """One SMTP connection, opened on first use and re-opened after any failure."""

    def __init__(self, server: SmtpServer, sender_address: str) -> None:
        self._server, self._sender = server, sender_address
        self._client: aiosmtplib.SMTP | None = None
        self._used = 0.0

    async def send(self, message: bytes, recipient: str) -> None:
        try:
            client = await self._connected()
            await client.sendmail(self._sender, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            await self.close()
            codes = [e.code for e in error.recipients]
            permanent = all(code >= 500 for code in codes)
            raise DeliveryFailed(f"recipient refused: {error}", permanent) from None
        except aiosmtplib.SMTPResponseException as error:
            await self.close()
            raise DeliveryFailed(f"{error.code} {error.message}", permanent=error.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self.close()
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
        self._used = time.monotonic()

    async def _connected(self) -> aiosmtplib.SMTP:
        client = self._client
        if client is not None and client.is_connected and time.monotonic() - self._used > IDLE_CHECK_SECONDS:
            try:
                await client.noop()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                await self.close()
                client = None
        if client is None or not client.is_connected:
            s = self._server
            client = aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.implicit_tls,
                                     start_tls=s.starttls, username=s.username, password=s.password,
                                     timeout=s.timeout)
            self._client = client
            await client.connect()
        return client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(Exception):
                await client.quit()
            client.close()
