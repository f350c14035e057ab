"""Helpers for notify's end-to-end tests: the stack, contact overrides, and reading caught mail."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from helpdesk_devstack.smtp_catcher import EmlWriter, SmtpCatcher

from tests.support.desk import Desk, provision
from tests.support.processes import ADMIN_TOKEN, ServiceProcess, Services

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def user_id(headers: dict[str, str]) -> str:
    """The user id (``sub``) inside a bearer token."""
    token = headers["Authorization"].split()[1]
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


@dataclass
class Stack:
    intake: ServiceProcess
    notify: ServiceProcess
    desk: Desk
    admin: httpx.Client  # on notify, as admin

    def override(self, who: str, **contact: str) -> dict[str, Any]:
        """An admin's override of the contact notify learnt from intake's facts (email, name, language)."""
        response = self.admin.put(f"/v1/admin/contacts/{who}", json=contact)
        assert response.status_code == 200, response.text
        return response.json()

    def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        response = self.admin.get("/v1/admin/deliveries", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        return response.json()["items"]


def start_stack(services: Services, notify_env: dict[str, str] | None = None) -> Stack:
    """intake (serve + relay) and notify as real processes, and a provisioned desk."""
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    notify = services.start("notify", "serve", env=notify_env)
    desk = provision(httpx.Client(base_url=intake.url, timeout=10))
    return Stack(intake, notify, desk, httpx.Client(base_url=notify.url, headers=ADMIN, timeout=10))


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


class SlowWriter(EmlWriter):
    """Takes ``delay`` seconds before accepting each message, like a distant relay."""

    def __init__(self, directory: Path, delay: float) -> None:
        super().__init__(directory)
        self.delay = delay

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        import asyncio

        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


class SlowCatcher(SmtpCatcher):
    def __init__(self, directory: Path, port: int, delay: float) -> None:
        super().__init__(directory, port)
        self.delay = delay

    def start(self) -> SlowCatcher:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(SlowWriter(self.directory, self.delay), hostname=self.host,
                                      port=self.port, server_hostname="slow-smtp")
        self._controller.start()
        return self
