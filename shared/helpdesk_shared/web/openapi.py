"""The OpenAPI document as the API answers: problem responses, the contract's headers, enums (issue #14 item 8).

litestar describes each handler's parameters, body and success; this completes the
generated document once, when the app starts, from what each handler is:

- every operation lists the error statuses it can answer, each ``application/problem+json``
  with the ``ProblemDetails`` schema, whose ``code`` enumerates every code (``problems.CODES``);
  common to all: 400, 422, 500, 503; authenticated: 401, 403; a path parameter: 404; a body: 413;
  a command: 409, and 412 where it takes ``If-Match``; ``Helpdesk-Min-Position``: 504; a handler
  adds its own with ``responses=problems(415, ...)``;
- a command (a handler taking the ``command`` dependency, or ``opt={"command": True}``) takes
  ``Idempotency-Key``, and answers ``Helpdesk-Position``; one on a ticket, or a ``PATCH`` of the
  aggregate its path names, also takes ``If-Match``;
- a read with ``opt={"min_position": True}`` takes ``Helpdesk-Min-Position``;
- an operation whose handler takes no principal is public (``security: []``);
- a read with ``opt={"alternatives": ["text/csv"]}`` also answers those media types (by ``Accept``);
- a parameter named in ``enums`` (the vocabulary's status, priority, category, and the
  service's own) lists its values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar._openapi.plugin import OpenAPIPlugin  # the one that caches the served document
from litestar.routes import HTTPRoute

from helpdesk_shared.vocabulary import Category, Channel, Priority, Status, Visibility
from helpdesk_shared.web.problems import CODES, MEDIA_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
ENUMS: dict[str, Iterable[str]] = {"status": Status, "priority": Priority, "category": Category,
                                   "channel": Channel, "visibility": Visibility}
STATUSES = {
    400: "validation_failed: a body, header or parameter that cannot be read (errors: [{field, message}])",
    401: "unauthorized: no bearer token, or one refused (WWW-Authenticate: Bearer)",
    403: "forbidden: the caller's role may not do this, or the account is blocked",
    404: "not_found: nothing by that id the caller may see (an id off its shape too)",
    409: "invalid_transition, reopen_window_closed, budget_exceeded (MED-12), or version_conflict (a race the "
         "retries could not win)",
    412: "version_conflict: If-Match names a version the aggregate has moved past",
    413: "payload_too_large: the body is over the route's limit",
    415: "unsupported_media_type: the body is not of the media type the route reads",
    422: "validation_failed: fields that break a rule or hold a refused character (errors: [{field, message}]); "
         "channel_closed: a channel the policy does not register (TEL-5, END-2)",
    429: "too_many_attempts: wait Retry-After seconds",
    500: "internal_error: a bug, logged; the answer holds no internals",
    503: "not_ready: a dependency is away for now; retry after Retry-After seconds",
    504: "timeout: the read model did not reach Helpdesk-Min-Position within the wait (position: where it is)",
}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": "Bearer realm=\"helpdesk\" (error=\"invalid_token\" when a token was refused)"},
    429: {"Retry-After": "Seconds until a new attempt is heard."},
    503: {"Retry-After": "Seconds after which the request is worth sending again."},
}
REQUEST_HEADERS = {
    "Idempotency-Key": "1–200 characters; a repeat with the same key and body answers the first answer and "
                       "appends nothing; the same key with another body answers 422.",
    "If-Match": 'The version the caller last saw, e.g. "3"; a stale one answers 412 version_conflict.',
    "Helpdesk-Min-Position": "A global event position (a command's Helpdesk-Position): the read waits, up to "
                             "5 s, until the read model has applied it and the SLA facts it caused; then 504.",
}
POSITION = {"Helpdesk-Position": {"description": "The global event position of the command's last event; send it "
                                                 "as Helpdesk-Min-Position to read your write.",
                                  "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """A handler's own error answers, for ``responses=``: the rest of its entry is completed at start."""
    return {status: ResponseSpec(dict[str, Any], generate_examples=False, media_type=MEDIA_TYPE,
                                 description=STATUSES[status]) for status in statuses}


def problem_details() -> dict[str, Any]:
    """The RFC 9457 document every 4xx/5xx answer is (CONTRACT §7)."""
    text = {"type": "string"}
    field = {"type": "object", "properties": {"field": {"type": ["string", "null"]},
                                              "message": {"type": ["string", "null"]}}}
    return {"type": "object", "required": ["type", "title", "status", "detail", "code"],
            "description": "RFC 9457 problem document (application/problem+json).",
            "properties": {
                "type": {"type": "string", "format": "uri"}, "title": text, "detail": text, "instance": text,
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "code": {"type": "string", "enum": list(CODES),
                         "description": "; ".join(f"{code}: {meaning}" for code, meaning in CODES.items())},
                "errors": {"type": "array", "items": field, "description": "The offending fields (400, 422)."},
                "position": {"type": "integer", "description": "Where the read model is (504)."}}}


def complete_openapi(app: Litestar, enums: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """Complete the app's generated document in place (litestar serves the cached one); return it."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    document.setdefault("components", {}).setdefault("schemas", {})["ProblemDetails"] = problem_details()
    choices = {name: [str(v) for v in values] for name, values in {**ENUMS, **(enums or {})}.items()}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = document.get("paths", {}).get(route.path_format or "/", {}).get(method.lower())
            if operation is not None:
                _complete(operation, handler, route.path_format, method, choices)
    return document


def _complete(operation: dict[str, Any], handler: HTTPRouteHandler, path: str, method: str,
              choices: Mapping[str, list[str]]) -> None:
    params = handler.parsed_fn_signature.parameters
    command = "command" in params or bool(handler.opt.get("command"))
    signed_in = command or "principal" in params
    if_match = command and ("{ticket_id}" in path or method == "PATCH")  # a change to the aggregate named
    reads_after = bool(handler.opt.get("min_position"))
    headers = [*(["Idempotency-Key"] if command else []), *(["If-Match"] if if_match else []),
               *(["Helpdesk-Min-Position"] if reads_after else [])]
    operation["parameters"] = [*operation.get("parameters", []), *(
        {"name": name, "in": "header", "required": False, "description": REQUEST_HEADERS[name],
         "schema": {"type": "string"}} for name in headers)]
    for parameter in operation["parameters"]:
        if parameter["name"] in choices:
            _enumerate(parameter["schema"], choices[parameter["name"]])
    if not signed_in:
        operation["security"] = []  # public: the document's default is the bearer token
    statuses = {400, 422, 500, 503} | ({401, 403} if signed_in else set()) | ({404} if "{" in path else set())
    statuses |= ({413} if method in ("POST", "PUT", "PATCH") else set()) | ({504} if reads_after else set())
    statuses |= ({409} | ({412} if if_match else set())) if command else set()
    _answers(operation.setdefault("responses", {}), statuses, command)
    for media_type in handler.opt.get("alternatives", ()):
        success = operation["responses"].setdefault("200", {"description": "OK"})
        success.setdefault("content", {})[media_type] = {"schema": {"type": "string"}}
    for response in operation["responses"].values():  # by name: litestar keeps a handler's response headers
        if "headers" in response:  # in a frozenset, whose order changes with the process's hash seed
            response["headers"] = dict(sorted(response["headers"].items()))


def _answers(responses: dict[str, Any], statuses: set[int], command: bool) -> None:
    """Every error answer as a problem document; a command's successes with ``Helpdesk-Position``."""
    for status in statuses:
        responses.setdefault(str(status), {"description": STATUSES[status]})
    for status, response in responses.items():
        if int(status) >= 400:
            if status == "400" or not response.get("description"):  # litestar's own 400 is generic
                response["description"] = STATUSES.get(int(status), "")
            response["content"] = {MEDIA_TYPE: {"schema": PROBLEM_REF}}
            headers = RESPONSE_HEADERS.get(int(status), {})
            response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                   for name, text in headers.items()} | response.get("headers", {})
        elif command and int(status) < 300:
            response["headers"] = {**response.get("headers", {}), **POSITION}


def _enumerate(schema: dict[str, Any], values: list[str]) -> None:
    """Put ``values`` on a parameter's string schema, its array's items, or the non-null branch of a union."""
    for branch in schema.get("oneOf", schema.get("anyOf", [])):
        _enumerate(branch, values)
    if "items" in schema:
        _enumerate(schema["items"], values)
    elif schema.get("type") == "string":
        schema["enum"] = values
