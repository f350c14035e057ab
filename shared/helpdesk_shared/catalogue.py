"""The event catalogue, generated from the code: ``docs/asyncapi.yaml``, ``docs/events.md``, and the
JSON Schema of each event type's data that the query service serves as its ``dataschema``.

    python -m helpdesk_shared.catalogue            # rewrite both files
    python -m helpdesk_shared.catalogue --check    # fail if they are stale (the tests do this)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from helpdesk_shared import (
    directory_events,
    events,
    mail_events,
    policy_events,
    release_events,
    sla_events,
    subjects,
    webhook_events,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


# (family, its fact → type map, channel name, subject prefix, what the subject's id is)
FAMILIES = (
    ("ticket", events.TICKET_EVENT_TYPES, "ticketEvents", subjects.TICKET_PREFIX, "ticket"),
    ("sla", sla_events.SLA_EVENT_TYPES, "slaEvents", subjects.SLA_PREFIX, "ticket"),
    ("customer", {f: t for f, t in directory_events.DIRECTORY_EVENT_TYPES.items()
                  if issubclass(f, directory_events.CustomerFact)}, "customerEvents", subjects.CUSTOMER_PREFIX,
     "customer"),
    ("user", {f: t for f, t in directory_events.DIRECTORY_EVENT_TYPES.items()
              if issubclass(f, directory_events.UserFact)}, "userEvents", subjects.USER_PREFIX, "user"),
    ("mail", mail_events.MAIL_EVENT_TYPES, "mailEvents", subjects.MAIL_PREFIX, "mail"),
    ("webhook", webhook_events.WEBHOOK_EVENT_TYPES, "webhookEvents", subjects.WEBHOOK_PREFIX, "webhook"),
    ("release", release_events.RELEASE_EVENT_TYPES, "releaseEvents", subjects.RELEASE_PREFIX, "release"),
    ("policy", policy_events.POLICY_EVENT_TYPES, "policyEvents", subjects.POLICY_PREFIX, "policy"),
)
# Where a family's ``sequence`` (CloudEvent extension) comes from: the store's position for every
# family intake's relay publishes, the SLA service's own outbox for its facts.
STORE_SEQUENCE = "The global event-store position of the event (the Helpdesk-Position header too)."
SEQUENCES = {"sla": "The SLA service's own outbox sequence, not a store position: later facts of a ticket "
                    "have higher ones; the id is sla-<sequence>."}
FACTS_BY_TYPE: dict[str, type[msgspec.Struct]] = {
    type_name: fact for _, types, _, _, _ in FAMILIES for fact, type_name in types.items()}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def data_schema(type_name: str) -> dict[str, Any] | None:
    """The JSON Schema of the ``data`` of events of this CloudEvent type (None: no such type)."""
    fact = FACTS_BY_TYPE.get(type_name)
    if fact is None:
        return None
    return {"$schema": JSON_SCHEMA_DIALECT, "title": type_name, **msgspec.json.schema(fact)}


# (heading, family names, where the facts are defined, what every one of them carries)
SECTIONS = (
    ("Ticket events", ("ticket",), "events.py", events.TicketFact,
     "Published by intake's relay. Every ticket event carries `ticket_id`, `customer_id`, `version`, `status`\n"
     "(after the event), `actor` and `occurred_at`; `sequence` is the global event-store position."),
    ("SLA events", ("sla",), "sla_events.py", sla_events.SlaFact,
     "Published by the SLA service. Every SLA event carries `ticket_id`, `customer_id`, `policy`,\n"
     "`ticket_version` and `occurred_at` (when it became true: a timer's due time, or the ticket event's\n"
     "time); `sequence` is the SLA service's own outbox sequence (not a store position): a ticket's facts\n"
     "reach the stream in sequence order, different tickets' need not (a fired warning or breach goes\n"
     "ahead of other tickets' older facts); the envelope's `ticketnumber` is the ticket's number."),
    ("Directory events", ("customer", "user"), "directory_events.py", directory_events.DirectoryFact,
     "Published by intake's relay: customers and users, never a secret. Every one carries `version`,\n"
     "`actor` and `occurred_at`, and `customer_id` or `user_id`; `sequence` is the global event-store position."),
    ("Inbound-mail events", ("mail",), "mail_events.py", mail_events.MailFact,
     "Published by intake's relay: the one outcome of each message that reached the email channel.\n"
     "Every one carries `mail_id`, `message_id`, `sender`, `subject` and `occurred_at`; `sequence` is the\n"
     "global event-store position."),
    ("Webhook events", ("webhook",), "webhook_events.py", webhook_events.WebhookFact,
     "Published by intake's relay: webhook registrations and removals (CONTRACT §10), never a secret.\n"
     "Every one carries `webhook_id`, `version`, `actor` and `occurred_at`; notify delivers from them."),
    ("Release events", ("release",), "release_events.py", release_events.ReleaseFact,
     "Published by intake's relay: the vendor's releases (IMC-9). Every one carries `release_id`, `version`,\n"
     "`actor` and `occurred_at`; the SLA service binds release-bound targets to them."),
    ("Policy events", ("policy",), "policy_events.py", policy_events.PolicyFact,
     "Published by intake's relay: each new version of an SLA policy (CONTRACT §5), its TOML text and\n"
     "SHA-256. Every one carries `policy_id`, `version`, `actor` and `occurred_at`; every service follows them."),
)


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3 document of every published event: channel, message, and data schema."""
    facts = [fact for _, types, _, _, _ in FAMILIES for fact in types]
    _, components = msgspec.json.schema_components(facts, ref_template="#/components/schemas/{name}")
    messages, operations, channels = {}, {}, {}
    for family, types, channel, prefix, about in FAMILIES:
        names = []
        for fact, type_name in types.items():
            name = fact.__name__
            names.append(name)
            messages[name] = _message(family, fact, type_name)
            operations[f"send{name}"] = {
                "action": "send", "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{'The SLA service' if family == 'sla' else 'Intake (the relay)'} sends {type_name}.",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}]}
        channels[channel] = {
            "address": f"{prefix}.{{id}}.{{event}}",
            "servers": [{"$ref": "#/servers/nats"}],
            "description": f"JetStream stream {subjects.STREAM}; subscribe to {prefix}.>. "
                           f"sequence: {SEQUENCES.get(family, STORE_SEQUENCE)}",
            "parameters": {"id": {"description": f"The {about}'s id (CloudEvent subject)."},
                           "event": {"description": "The last part of the CloudEvent type."}},
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
        }
    components.update(_envelope_schemas())
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "helpdesk events", "version": "1",
                 "description": "Generated from helpdesk_shared (events, sla_events, directory_events,"
                                " mail_events, webhook_events, release_events,"
                                " policy_events); do not edit by hand."},
        "servers": {"nats": {
            "host": "localhost:4222", "protocol": "nats", "bindings": {"nats": {}},
            "description": f"NATS with JetStream (HELPDESK_NATS_URL); every event is in the stream "
                           f"{subjects.STREAM}."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def _message(family: str, fact: type, type_name: str) -> dict[str, Any]:
    """One event type: its headers, and its envelope with this family's ``sequence`` and this type's data."""
    sequence = SEQUENCES.get(family, STORE_SEQUENCE)
    return {
        "name": type_name,
        "title": fact.__name__,
        "summary": (fact.__doc__ or "").strip().splitlines()[0] if fact.__doc__ else type_name,
        "contentType": events.CONTENT_TYPE,
        "headers": {"$ref": f"#/components/schemas/{'Sla' if family == 'sla' else ''}MessageHeaders"},
        "payload": {"allOf": [{"$ref": "#/components/schemas/CloudEventEnvelope"},
                              {"type": "object", "properties": {
                                  "type": {"const": type_name},
                                  "sequence": {"type": "integer", "description": sequence},
                                  "dataschema": {"const": events.dataschema(type_name)},
                                  "data": {"$ref": f"#/components/schemas/{fact.__name__}"}}}]},
    }


def _envelope_schemas() -> dict[str, Any]:
    fields: dict[str, Any] = {name: {"type": "string"} for name in ("specversion", "id", "source", "subject",
                                                                     "type", "datacontenttype")}
    fields.update(time={"type": "string", "format": "date-time"},
                  sequence={"type": "integer", "description": "Per family: see each message."},
                  ticketnumber={"type": ["string", "null"], "description": "The ticket's number (ticket and SLA "
                                "events; null on others)."},
                  dataschema={"type": "string", "description": "The path, on the query service, of the JSON "
                              "Schema of data: GET <query URL>/v1/schemas/events/<type>."})
    common = {
        "Content-Type": {"const": events.CONTENT_TYPE, "description": "structured-mode CloudEvent"},
        "Nats-Msg-Id": {"type": "string", "description": "= the CloudEvent id; deduplication"}}
    return {
        "CloudEventEnvelope": {"type": "object", "properties": fields,
                               "required": ["specversion", "id", "source", "subject", "type", "time",
                                            "sequence", "data"]},
        "MessageHeaders": {"type": "object", "properties": {
            **common,
            "Helpdesk-Position": {"type": "string", "description": "= sequence"},
            "traceparent": {"type": "string", "description": "W3C trace context of the command"}}},
        "SlaMessageHeaders": {"type": "object", "properties": common},
    }


def markdown() -> str:
    lines = ["# Event catalogue", "",
             "Generated from `shared/helpdesk_shared/` by `python -m helpdesk_shared.catalogue`; the",
             "machine-readable form is [asyncapi.yaml](asyncapi.yaml). All travel in the JetStream stream",
             f"`{subjects.STREAM}` as CloudEvents 1.0 (structured JSON, header",
             f"`Content-Type: {events.CONTENT_TYPE}`).",
             "Each carries `dataschema`: the path, on the query service, of the JSON Schema of its `data`",
             f"(`GET <query URL>{events.DATASCHEMA_PATH}`, public), generated from the same structs."]
    families = {family: (types, prefix) for family, types, _, prefix, _ in FAMILIES}
    for heading, names, module, base, about in SECTIONS:
        lines += ["", f"## {heading}", "", f"Defined in `shared/helpdesk_shared/{module}`. {about}", "",
                  "| CloudEvent type | subject | data fields (beyond the common ones) |", "|---|---|---|"]
        common = set(base.__struct_fields__)
        for name in names:
            types, prefix = families[name]
            for fact, type_name in types.items():
                own = [f for f in fact.__struct_fields__ if f not in common]
                subject = f"`{prefix}.<id>.{type_name.rsplit('.', 1)[-1]}`"
                lines.append(f"| `{type_name}` | {subject} | {', '.join(f'`{f}`' for f in own) or '—'} |")
    return "\n".join(lines) + "\n"


def render() -> dict[Path, str]:
    # JSON is valid YAML 1.2; it keeps the generator free of a YAML dependency.
    return {DOCS / "asyncapi.yaml": json.dumps(asyncapi(), indent=2, ensure_ascii=False) + "\n",
            DOCS / "events.md": markdown()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m helpdesk_shared.catalogue")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = [path for path, text in render().items() if not path.exists() or path.read_text() != text]
    if args.check:
        sys.exit(f"stale: {', '.join(map(str, stale))}; run python -m helpdesk_shared.catalogue" if stale else 0)
    for path, text in render().items():
        path.write_text(text)


if __name__ == "__main__":
    main()
