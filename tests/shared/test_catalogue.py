"""The published event catalogue is generated from the code and never stale (CONTRACT §8)."""

import datetime as dt
import json
from pathlib import Path

import jsonschema
import msgspec
import pytest

from helpdesk_shared import catalogue, sla_events


def test_docs_event_catalogue_matches_the_code() -> None:
    for path, text in catalogue.render().items():
        assert path.read_text() == text, f"{path} is stale: run python -m helpdesk_shared.catalogue"


def test_every_ticket_event_has_a_schema_in_the_asyncapi_document() -> None:
    document = catalogue.asyncapi()
    assert set(document["components"]["messages"]) >= {"TicketOpened", "Accepted", "Rejected"}
    assert "TicketOpened" in document["components"]["schemas"]


def test_platform_cloudevents_asyncapi_document_is_valid_asyncapi_3() -> None:
    """docs/asyncapi.yaml validates against AsyncAPI 3.0.0's JSON Schema (from asyncapi/spec-json-schemas)."""
    schema = json.loads((Path(__file__).parents[1] / "support" / "asyncapi" / "3.0.0.json").read_text())
    document = json.loads((catalogue.DOCS / "asyncapi.yaml").read_text())  # JSON is YAML 1.2
    jsonschema.Draft7Validator(schema).validate(document)
    assert {op["action"] for op in document["operations"].values()} == {"send"}
    assert document["servers"]["nats"]["protocol"] == "nats" and "nats" in document["servers"]["nats"]["bindings"]
    ticket, sla = document["components"]["messages"]["TicketOpened"], document["components"]["messages"]["Met"]
    sequence = [m["payload"]["allOf"][1]["properties"]["sequence"]["description"] for m in (ticket, sla)]
    assert "global event-store position" in sequence[0] and "outbox" in sequence[1]
    assert ticket["payload"]["allOf"][1]["properties"]["dataschema"] == {
        "const": "/v1/schemas/events/helpdesk.ticket.opened"}


def test_platform_cloudevents_dataschema_of_each_type_validates_its_data() -> None:
    """The served data schema of a type accepts an event of that type and refuses a broken one."""
    fact = sla_events.Met(ticket_id="t1", customer_id="c1", policy="medis", ticket_version=2,
                          occurred_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), kind="first_response",
                          due_at=None, stopped_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
    envelope = sla_events.wrap(fact, event_id="sla-1", sequence=1, number="KS-1")
    assert envelope.dataschema == "/v1/schemas/events/helpdesk.sla.met" and envelope.ticketnumber == "KS-1"
    schema = catalogue.data_schema("helpdesk.sla.met")
    assert schema is not None and catalogue.data_schema("helpdesk.sla.nothing") is None
    data = msgspec.to_builtins(envelope)["data"]
    jsonschema.Draft202012Validator(schema).validate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**data, "kind": "lunch"})
    assert set(catalogue.FACTS_BY_TYPE) == {t for _, types, *_ in catalogue.FAMILIES for t in types.values()}
