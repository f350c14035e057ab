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

from helpdesk_intake.adapters.eventstore import SideRow
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.service import Change, IntakeService, NotFound, Outcome, Request, new_id
from helpdesk_intake.domain.base import InvalidInput, NotPermitted
from helpdesk_intake.domain.webhook import Webhook

_COLUMNS = "webhook_id::text AS id, url, subjects, registered_at"


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
            row = SideRow("INSERT INTO {schema}.webhooks (webhook_id, url, subjects, secret)"
                          " VALUES (%s, %s, %s::jsonb, %s)",
                          (webhook.id, webhook.url, json.dumps(webhook.subjects), command.secret))
            return Change([webhook], {"id": str(webhook.id), "version": webhook.version}, rows=[row],
                          status_code=201)

        return self.execute(request, decide)

    def remove(self, request: Request, webhook_id: str) -> Outcome:
        def decide() -> Change:
            webhook = self.load(Webhook, webhook_id)
            webhook.remove(self.context(request))
            row = SideRow("DELETE FROM {schema}.webhooks WHERE webhook_id = %s", (webhook.id,))
            return Change([webhook], {"id": str(webhook.id), "version": webhook.version}, rows=[row])

        return self.execute(request, decide, key=webhook_id)

    def list(self) -> list[dict[str, Any]]:
        """The registered (not removed) webhooks, oldest first, without their secrets."""
        with self.store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            return list(conn.execute(f"SELECT {_COLUMNS} FROM intake.webhooks ORDER BY registered_at, webhook_id"))

    def get(self, webhook_id: str) -> dict[str, Any]:
        return self._row(webhook_id, _COLUMNS)

    def secret(self, principal_role: Role, webhook_id: str) -> str:
        """The signing secret, for notify's service identity only (never an admin's token)."""
        if principal_role is not Role.SERVICE:
            raise NotPermitted("only the delivering service reads a webhook's secret")
        return str(self._row(webhook_id, "secret")["secret"])

    def _row(self, webhook_id: str, columns: str) -> dict[str, Any]:
        try:
            key = UUID(webhook_id)
        except ValueError:
            raise NotFound(f"no webhook {webhook_id}") from None
        with self.store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute(f"SELECT {columns} FROM intake.webhooks WHERE webhook_id = %s", (key,)).fetchone()
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        return dict(row)

    def _check_address(self, url: str) -> None:
        """The host must resolve to allowed addresses only (notify checks again at each delivery)."""
        try:
            resolve_blocking(check_url(url, self.allow_loopback), self.allow_loopback)
        except RefusedTarget as refused:
            raise InvalidInput(str(refused), field=refused.field) from None
