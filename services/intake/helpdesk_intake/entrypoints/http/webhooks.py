"""intake's webhook routes (CONTRACT §10): admins register, list and remove; notify reads secrets."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, post
from litestar.di import Provide

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal

from helpdesk_intake.application import Request
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.webhooks import WebhookService
from helpdesk_intake.entrypoints.http.meta import answer, provide_command


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]
    dependencies = {"command": Provide(provide_command)}

    @post("/", sync_to_thread=True)
    def register(self, data: cmd.RegisterWebhook, command: Request, webhooks: WebhookService) -> Response[Any]:
        """Register an HTTPS endpoint for the events matching ``subjects`` (NATS patterns); 201 ``{id}``.

        Each matching event is POSTed by notify, signed with ``secret`` (at least 16 characters):
        ``Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. Plain http,
        private, link-local and metadata addresses are refused (422).
        """
        command.principal.require(Role.ADMIN)
        return answer(webhooks.register(command, data))

    @get("/", sync_to_thread=True)
    def list_webhooks(self, principal: Principal, webhooks: WebhookService) -> dict[str, Any]:
        """The registered webhooks (never their secrets)."""
        principal.require(Role.ADMIN, Role.AUDITOR)
        return {"items": webhooks.list()}

    @get("/{webhook_id:str}", sync_to_thread=True)
    def get_webhook(self, webhook_id: str, principal: Principal, webhooks: WebhookService) -> dict[str, Any]:
        """One webhook: its address, subject filters and registration (never its secret)."""
        principal.require(Role.ADMIN, Role.AUDITOR)
        return webhooks.get(webhook_id)

    @delete("/{webhook_id:str}", sync_to_thread=True, status_code=200)
    def remove(self, webhook_id: str, command: Request, webhooks: WebhookService) -> Response[Any]:
        """Remove a webhook: nothing more is delivered to it (deliveries still queued fail)."""
        command.principal.require(Role.ADMIN)
        return answer(webhooks.remove(command, webhook_id))

    @get("/{webhook_id:str}/secret", sync_to_thread=True, include_in_schema=False)
    def secret(self, webhook_id: str, principal: Principal, webhooks: WebhookService) -> dict[str, str]:
        """The signing secret, for notify's service token only."""
        return {"secret": webhooks.secret(principal.role, webhook_id)}
