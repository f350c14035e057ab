"""Issue #14 item 8: the OpenAPI documents the running services serve describe the API as it answers.

Each service runs as a real process; its ``/schema/openapi.json`` must be a valid OpenAPI
document (openapi-spec-validator), list every problem code our source can raise (found by
scanning the source), answer every error as ``application/problem+json`` with the
``ProblemDetails`` schema, and carry the contract's headers on the right operations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.support.processes import Services

pytestmark = [pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "query", "notify", "sla")
PROBLEM = "application/problem+json"
REF = {"$ref": "#/components/schemas/ProblemDetails"}
# Where a code is written next to its status: Problem(404, "not_found"), problem_response(503, "not_ready"),
# (409, "invalid_transition") in a table, 400: "validation_failed" in _CODE_BY_STATUS; and the fallback.
RAISED = (re.compile(r'(?:Problem|problem_response)\(\s*[1-5]\d\d\s*,\s*"([a-z_]+)"'),
          re.compile(r'\(\s*[1-5]\d\d\s*,\s*"([a-z_]+)"\s*\)'),
          re.compile(r'^\s*[1-5]\d\d\s*:\s*"([a-z_]+)",\s*$', re.MULTILINE),
          re.compile(r'_CODE_BY_STATUS\.get\([^,]+,\s*"([a-z_]+)"'))


def raised_codes() -> set[str]:
    """Every problem code our own source can answer with (a static scan of services/ and shared/)."""
    sources = [*ROOT.glob("services/*/helpdesk_*/**/*.py"), *ROOT.glob("shared/helpdesk_shared/**/*.py")]
    return {code for path in sources for pattern in RAISED for code in pattern.findall(path.read_text())}


@pytest.fixture
def urls(services: Services) -> dict[str, str]:
    """The four services running as real processes, by name."""
    return {name: str(services.start(name, "serve").url) for name in SERVICES}


@pytest.fixture
def documents(urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: httpx.get(f"{url}/schema/openapi.json", timeout=10).json() for name, url in urls.items()}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def headers_of(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


def test_platform_openapi_documents_are_valid_and_every_error_is_a_documented_problem(
        documents: dict[str, Any], urls: dict[str, str]) -> None:
    codes = raised_codes()
    assert {"validation_failed", "not_found", "too_many_attempts", "reopen_window_closed", "timeout",
            "internal_error", "unsupported_media_type"} <= codes  # the scan finds what we know is raised
    for name, document in documents.items():
        validate(document)  # raises on any violation of OpenAPI 3.1
        details = document["components"]["schemas"]["ProblemDetails"]
        documented = set(details["properties"]["code"]["enum"])
        assert codes <= documented, (name, codes - documented)
    for name, document in documents.items():
        assert operations(document), name
        for method, path, operation in operations(document):
            where = f"{name} {method} {path}"
            assert operation.get("description"), where
            errors = {int(s): r for s, r in operation["responses"].items() if int(s) >= 400}
            assert {400, 422, 500, 503} <= set(errors), where
            if operation.get("security") != []:
                assert {401, 403} <= set(errors), where
            if "{" in path:
                assert 404 in errors, where
            for status, response in errors.items():
                assert response["content"] == {PROBLEM: {"schema": REF}}, (where, status)
                assert response["description"], (where, status)
    # and what a service answers on error validates against the ProblemDetails schema it documents
    schema = documents["query"]["components"]["schemas"]["ProblemDetails"]
    for path, headers in (("/v1/tickets/no.such", {}), ("/v1/tickets", {"Helpdesk-Min-Position": "x"}),
                          ("/v1/schemas/events/helpdesk.nothing", {})):
        answer = httpx.get(urls["query"] + path, headers=headers, timeout=10)
        assert answer.status_code in (400, 401, 404) and answer.headers["content-type"].startswith(PROBLEM), path
        jsonschema.validate(answer.json(), schema)


def test_platform_openapi_headers_and_enums_on_the_right_operations(documents: dict[str, Any]) -> None:
    intake, query = documents["intake"]["paths"], documents["query"]["paths"]
    for path, method in (("/v1/tickets", "post"), ("/v1/customers", "post"), ("/v1/inbound/email", "post")):
        operation = intake[path][method]
        assert "Idempotency-Key" in headers_of(operation) and "If-Match" not in headers_of(operation), path
        created = operation["responses"]["201"]
        assert "Helpdesk-Position" in created["headers"], path
    for path, method in (("/v1/tickets/{ticket_id}", "patch"), ("/v1/tickets/{ticket_id}/comments", "post"),
                         ("/v1/tickets/{ticket_id}/actions/{action}", "post"),
                         ("/v1/tickets/{ticket_id}/attachments", "post")):
        operation = intake[path][method]
        assert {"Idempotency-Key", "If-Match"} <= headers_of(operation), path
        assert {"409", "412"} <= set(operation["responses"]), path
    for path in ("/v1/tickets", "/v1/tickets/{ticket_id}", "/v1/tickets/{ticket_id}/history", "/v1/events",
                 "/v1/reports/backlog"):
        operation = query[path]["get"]
        assert "Helpdesk-Min-Position" in headers_of(operation) and "504" in operation["responses"], path
    for path in ("/v1/tickets", "/v1/tickets/{ticket_id}"):  # where a live page opens its stream from
        assert "Helpdesk-Stream-Position" in query[path]["get"]["responses"]["200"]["headers"], path
    login = intake["/v1/auth/token"]["post"]
    assert login["security"] == [] and "Retry-After" in login["responses"]["429"]["headers"]
    inbound = intake["/v1/inbound/email"]["post"]
    assert list(inbound["requestBody"]["content"]) == ["message/rfc822"] and "415" in inbound["responses"]
    action = next(p for p in intake["/v1/tickets/{ticket_id}/actions/{action}"]["post"]["parameters"]
                  if p["name"] == "action")
    assert {"accept", "propose_solution", "reject", "defer", "resume"} <= set(action["schema"]["enum"])
    stream = query["/v1/stream"]["get"]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]
    assert "Last-Event-ID" in headers_of(stream) and "Retry-After" in stream["responses"]["503"]["headers"]
    backlog = query["/v1/reports/backlog"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(backlog)
    status = next(p for p in query["/v1/tickets"]["get"]["parameters"] if p["name"] == "status")
    items = next(branch["items"] for branch in status["schema"]["oneOf"] if branch.get("type") == "array")
    assert {"awaiting_customer", "deferred"} <= set(items["enum"])
    assert any(p["name"] == "third_party" for p in query["/v1/tickets"]["get"]["parameters"])  # END-5
