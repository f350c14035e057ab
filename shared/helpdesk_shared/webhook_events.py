"""Webhook facts: an admin registered or removed a webhook, on ``helpdesk.webhook.<id>.<event>``.

Intake owns registrations (CONTRACT §10); notify, which delivers, keeps its own copy
from these facts, in stream order, so every event after a registration on the stream
is matched against it. The signing secret is never a fact: it stays in intake's
private table and notify asks intake for it (``GET /v1/webhooks/{id}/secret``, service
tokens only).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from helpdesk_shared.events import Actor, CloudEvent, Family


class WebhookFact(msgspec.Struct, frozen=True, kw_only=True):
    webhook_id: str
    version: int  # the webhook's aggregate version
    actor: Actor
    occurred_at: dt.datetime


class WebhookRegistered(WebhookFact, frozen=True, kw_only=True):
    """An endpoint will receive every event whose subject matches one of ``subjects``."""

    url: str
    subjects: tuple[str, ...]


class WebhookRemoved(WebhookFact, frozen=True, kw_only=True):
    """The endpoint receives nothing more; deliveries still queued for it fail ("the webhook was removed")."""


WEBHOOK_EVENT_TYPES: dict[type[WebhookFact], str] = {
    WebhookRegistered: "helpdesk.webhook.registered",
    WebhookRemoved: "helpdesk.webhook.removed",
}

FAMILY = Family(WEBHOOK_EVENT_TYPES, CloudEvent, __name__)
ENVELOPES = FAMILY.envelopes
WebhookEvent = FAMILY.union
event_type = FAMILY.event_type
decode = FAMILY.decode


def wrap(fact: WebhookFact, *, event_id: str, sequence: int) -> CloudEvent:
    return FAMILY.envelope(fact, event_id=event_id, subject=fact.webhook_id, sequence=sequence)
