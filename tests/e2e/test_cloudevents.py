"""Issue #14 item 9: the CloudEvents on the stream, from the real relay and SLA processes (CONTRACT §8).

Each message carries ``Content-Type: application/cloudevents+json``; each envelope's ``dataschema``
resolves on the running query service to a JSON Schema its ``data`` validates against; SLA events
carry the ticket's number as ``ticketnumber``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from tests.support.desk import provision
from tests.support.processes import Services
from tests.support.stream import StreamMessage, read_all
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
CONTENT_TYPE = "application/cloudevents+json"


def _check(message: StreamMessage, query_url: str, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The message's header and its data against the schema its dataschema names; the envelope."""
    assert message.headers.get("Content-Type") == CONTENT_TYPE, (message.subject, message.headers)
    envelope = json.loads(message.data)
    where = envelope["dataschema"]
    if where not in schemas:
        answer = httpx.get(query_url + where, timeout=10)  # public: no token
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/schema+json")
        schemas[where] = answer.json()
    jsonschema.Draft202012Validator.check_schema(schemas[where])
    jsonschema.Draft202012Validator(schemas[where]).validate(envelope["data"])
    assert schemas[where]["title"] == envelope["type"]
    return envelope


def test_platform_cloudevents_carry_content_type_dataschema_and_ticket_number(
        services: Services, nats_url: str) -> None:
    urls = {name: str(services.start(name, "serve").url) for name in ("intake", "query", "sla")}
    services.start("intake", "relay")
    desk = provision(httpx.Client(base_url=urls["intake"], timeout=10), policy="medis")  # targets from opening
    ticket = desk.open()
    assert desk.act(ticket["id"], "accept").status_code == 200
    sla = wait_until(lambda: read_all(nats_url, f"helpdesk.sla.{ticket['id']}.>"), timeout=30,
                     message="the SLA service published nothing for the ticket")
    tickets = wait_until(lambda: (m := read_all(nats_url, f"helpdesk.ticket.{ticket['id']}.>"))[1:] and m,
                         timeout=30, message="the relay did not publish the opening and the acceptance")
    directory = read_all(nats_url, "helpdesk.customer.>") + read_all(nats_url, "helpdesk.user.>")
    schemas: dict[str, dict[str, Any]] = {}
    for message in [*tickets, *directory]:
        _check(message, urls["query"], schemas)
    for message in sla:
        envelope = _check(message, urls["query"], schemas)
        assert envelope["ticketnumber"] == ticket["number"], envelope
        assert envelope["source"] == "urn:helpdesk:sla" and envelope["id"] == f"sla-{envelope['sequence']}"
    assert {"/v1/schemas/events/helpdesk.ticket.opened", "/v1/schemas/events/helpdesk.ticket.accepted",
            "/v1/schemas/events/helpdesk.sla.target_set"} <= set(schemas)
    unknown = httpx.get(urls["query"] + "/v1/schemas/events/helpdesk.ticket.nothing", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
