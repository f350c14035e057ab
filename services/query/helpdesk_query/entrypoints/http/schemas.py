"""``GET /v1/schemas/events/{type}``: the JSON Schema of an event type's ``data``, its CloudEvent ``dataschema``.

Public (no token): a schema says nothing about any ticket, and a subscriber resolving an
event's ``dataschema`` may hold no account on the desk. Generated from the same msgspec
structs as the events and ``docs/asyncapi.yaml`` (``helpdesk_shared.catalogue``).
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from helpdesk_shared.catalogue import data_schema
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem

MEDIA_TYPE = "application/schema+json"


@get("/v1/schemas/events/{event_type:str}", tags=["events"], media_type=MEDIA_TYPE, responses=problems(404),
     sync_to_thread=False)
def event_data_schema(event_type: str) -> Response[dict[str, Any]]:
    """The JSON Schema (2020-12) of the data of events of this CloudEvent type, e.g. ``helpdesk.ticket.opened``."""
    schema = data_schema(event_type)
    if schema is None:
        raise Problem(404, "not_found", f"no event type {event_type!r}")
    return Response(schema, media_type=MEDIA_TYPE, headers={"Cache-Control": "public, max-age=3600"})
