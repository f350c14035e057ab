"""An SMTP server that keeps every message it receives as an .eml file, for development and tests.

Run it alone with `python -m helpdesk_devstack.smtp_catcher --port 2525 --dir .helpdesk/mail`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import itertools
import os
import signal
import threading
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class EmlWriter:
    """aiosmtpd handler: one file per message, named so that `sorted()` is arrival order.

    The envelope goes on top as X-MailFrom / X-RcptTo headers (as aiosmtpd's own Mailbox
    handler does), so Bcc recipients stay visible.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.write(
            envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b""
        )
        return "250 Message accepted for delivery"

    def write(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        with self._lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            name = f"{stamp}-{next(self._sequence):06d}-{uuid.uuid4().hex[:8]}.eml"
        envelope = f"X-MailFrom: {mail_from}\r\nX-RcptTo: {', '.join(rcpt_tos)}\r\n".encode()
        path = self.directory / name
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(envelope + content)
        os.replace(partial, path)  # readers never see half a message
        return path


class SmtpCatcher:
    """A real SMTP server on host:port (its own thread) writing into `directory`."""

    def __init__(self, directory: Path, port: int, host: str = "127.0.0.1") -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> SmtpCatcher:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            EmlWriter(self.directory),
            hostname=self.host,
            port=self.port,
            server_hostname="smtp-catcher",
            enable_SMTPUTF8=True,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def paths(self) -> list[Path]:
        """The .eml files received so far, oldest first."""
        return sorted(self.directory.glob("*.eml"))

    def messages(self) -> list[EmailMessage]:
        """The messages received so far, oldest first, parsed with the modern email policy."""
        return [parse(path) for path in self.paths()]

    def wait(self, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; return all of them."""
        deadline = time.monotonic() + timeout
        while len(self.paths()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.paths())} of {count} messages after {timeout} s")
            time.sleep(0.05)
        return self.messages()

    def __enter__(self) -> SmtpCatcher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def parse(path: Path) -> EmailMessage:
    with path.open("rb") as file:
        return email.message_from_binary_file(file, policy=email.policy.default)  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpdesk_devstack.smtp_catcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", type=Path, default=Path(".helpdesk/mail"))
    args = parser.parse_args(argv)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with SmtpCatcher(args.dir, args.port, args.host) as catcher:
        print(f"SMTP catcher on {catcher.url}, writing to {args.dir}/", flush=True)
        stopping.wait()


if __name__ == "__main__":
    main()
