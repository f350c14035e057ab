"""Webhook registrations (CONTRACT §10): admins register and remove endpoints; notify delivers.

A registration is the ``Webhook`` aggregate's event (its url and subject filter, made
public by the relay) plus a row in ``intake.webhooks`` written in the same
transaction, which alone holds the signing secret. Notify reads the secret with a
service token (``secret``); no event, stored or public, carries it.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.webhook_targets import RefusedTarget, check_url, resolve_blocking

from helpdesk_intake.adapters.eventstore import webhook_removal_row, webhook_row
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.service import Change, IntakeService, NotFound, Outcome, Request, new_id
from helpdesk_intake.domain.base import InvalidInput, NotPermitted
from helpdesk_intake.domain.webhook import Webhook


class WebhookService(IntakeService):
    def __init__(self, *args: Any, allow_loopback: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_loopback = allow_loopback

    def register(self, request: Request, command: cmd.RegisterWebhook) -> Outcome:
        def decide() -> Change:
            webhook = Webhook.register(self.context(request), id=new_id(), url=command.url,
                                       subjects=command.subjects, secret=command.secret,
                                       allow_loopback=self.allow_loopback)
            self._check_address(command.url)
            row = webhook_row(webhook.id, webhook.url, json.dumps(webhook.subjects), command.secret)
            return Change([webhook], {"id": str(webhook.id), "version": webhook.version}, rows=[row],
                          status_code=201)

        return self.execute(request, decide)

    def remove(self, request: Request, webhook_id: str) -> Outcome:
        def decide() -> Change:
            webhook = self.load(Webhook, webhook_id)
            webhook.remove(self.context(request))
            row = webhook_removal_row(webhook.id)
            return Change([webhook], {"id": str(webhook.id), "version": webhook.version}, rows=[row])

        return self.execute(request, decide, key=webhook_id)

    def list(self) -> list[dict[str, Any]]:
        """The registered (not removed) webhooks, oldest first, without their secrets."""
        return self.store.rows.webhooks()

    def get(self, webhook_id: str) -> dict[str, Any]:
        return self._row(webhook_id)

    def secret(self, principal_role: Role, webhook_id: str) -> str:
        """The signing secret, for notify's service identity only (never an admin's token)."""
        if principal_role is not Role.SERVICE:
            raise NotPermitted("only the delivering service reads a webhook's secret")
        return str(self._row(webhook_id, secret=True)["secret"])

    def _row(self, webhook_id: str, secret: bool = False) -> dict[str, Any]:
        try:
            key = UUID(webhook_id)
        except ValueError:
            raise NotFound(f"no webhook {webhook_id}") from None
        row = self.store.rows.webhook(key, secret=secret)
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        return row

    def _check_address(self, url: str) -> None:
        """The host must resolve to allowed addresses only (notify checks again at each delivery)."""
        try:
            resolve_blocking(check_url(url, self.allow_loopback), self.allow_loopback)
        except RefusedTarget as refused:
            raise InvalidInput(str(refused), field=refused.field) from None
