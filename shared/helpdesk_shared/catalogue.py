"""The event catalogue, generated from the code: ``docs/asyncapi.yaml`` and ``docs/events.md``.

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

from helpdesk_shared import events, subjects

DOCS = Path(__file__).resolve().parents[2] / "docs"


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3 document of every ticket event: channel, message, and data schema."""
    facts = list(events.TICKET_EVENT_TYPES)
    _, components = msgspec.json.schema_components(facts, ref_template="#/components/schemas/{name}")
    messages, operations = {}, {}
    for fact, type_name in events.TICKET_EVENT_TYPES.items():
        name = fact.__name__
        messages[name] = {
            "name": type_name,
            "title": name,
            "summary": (fact.__doc__ or "").strip().splitlines()[0] if fact.__doc__ else type_name,
            "contentType": "application/cloudevents+json",
            "headers": {"$ref": "#/components/schemas/MessageHeaders"},
            "payload": {"allOf": [{"$ref": "#/components/schemas/CloudEventEnvelope"},
                                  {"type": "object", "properties": {
                                      "type": {"const": type_name},
                                      "data": {"$ref": f"#/components/schemas/{name}"}}}]},
        }
        operations[f"receive{name}"] = {"action": "receive", "channel": {"$ref": "#/channels/ticketEvents"},
                                        "messages": [{"$ref": f"#/channels/ticketEvents/messages/{name}"}]}
    components.update(_envelope_schemas())
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "helpdesk ticket events", "version": "1",
                 "description": "Generated from helpdesk_shared.events; do not edit by hand."},
        "channels": {"ticketEvents": {
            "address": f"{subjects.TICKET_PREFIX}.{{ticket_id}}.{{event}}",
            "description": f"JetStream stream {subjects.STREAM}; subscribe to {subjects.ALL_TICKET_EVENTS}.",
            "parameters": {"ticket_id": {"description": "The ticket's id (CloudEvent subject)."},
                           "event": {"description": "The last part of the CloudEvent type."}},
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
        }},
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def _envelope_schemas() -> dict[str, Any]:
    fields = {name: {"type": "string"} for name in ("specversion", "id", "source", "subject", "type",
                                                     "datacontenttype")}
    fields.update(time={"type": "string", "format": "date-time"},
                  sequence={"type": "integer", "description": "global position in the event store"},
                  ticketnumber={"type": ["string", "null"]})
    return {
        "CloudEventEnvelope": {"type": "object", "properties": fields,
                               "required": ["specversion", "id", "source", "subject", "type", "time",
                                            "sequence", "data"]},
        "MessageHeaders": {"type": "object", "properties": {
            "Nats-Msg-Id": {"type": "string", "description": "= the CloudEvent id; deduplication"},
            "Helpdesk-Position": {"type": "string", "description": "= sequence"},
            "traceparent": {"type": "string", "description": "W3C trace context"}}},
    }


def markdown() -> str:
    lines = ["# Event catalogue", "",
             "Generated from `shared/helpdesk_shared/events.py` by `python -m helpdesk_shared.catalogue`;",
             "the machine-readable form is [asyncapi.yaml](asyncapi.yaml). Every event also carries",
             "`ticket_id`, `customer_id`, `version`, `status` (after the event), `actor` and `occurred_at`.", "",
             "| CloudEvent type | subject | data fields (beyond the common ones) |", "|---|---|---|"]
    common = set(events.TicketFact.__struct_fields__)
    for fact, type_name in events.TICKET_EVENT_TYPES.items():
        own = [f for f in fact.__struct_fields__ if f not in common]
        subject = f"`helpdesk.ticket.<id>.{type_name.rsplit('.', 1)[-1]}`"
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
