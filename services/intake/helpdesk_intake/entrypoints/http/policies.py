"""intake's policy routes (CONTRACT §5): admins publish TOML documents; admins, auditors and agents read."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response, get, post
from litestar import Request as HttpRequest
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.openapi import problems
from helpdesk_shared.web.problems import Problem

from helpdesk_intake.application.policies import PolicyService
from helpdesk_intake.entrypoints.http.meta import answer, command_request

READERS = (Role.ADMIN, Role.AUDITOR, Role.AGENT)
TOML = "application/toml"


@dataclass
class PublishOperation(Operation):
    """The route's OpenAPI operation, with the TOML body litestar cannot see in a body read by hand."""

    def __post_init__(self) -> None:
        document = Schema(type=OpenAPIType.STRING, description="One SLA policy as a TOML document (docs/policies.md).")
        self.request_body = RequestBody(content={TOML: OpenAPIMediaType(schema=document)}, required=True)


class PolicyController(Controller):
    path = "/v1/policies"
    tags = ["policies"]

    @post("/", operation_class=PublishOperation, responses=problems(415), status_code=201)
    async def publish(self, request: HttpRequest[Any, Any, Any], principal: Principal,
                      policies: PolicyService) -> Response[Any]:
        """Publish a version of a policy (admin; ``Content-Type: application/toml``).

        201 ``{id, version, published_at, by, fingerprint}``; 200 with the version in force when
        the document is that version already (nothing written); 422 ``validation_failed`` with
        ``errors: [{field, message}]`` for every problem, nothing written.
        """
        principal.require(Role.ADMIN)
        text = await _document(request)
        command = command_request(request, principal, text)
        return answer(await asyncio.to_thread(policies.publish, command, text))

    @post("/validate", operation_class=PublishOperation, responses=problems(415), status_code=200)
    async def validate(self, request: HttpRequest[Any, Any, Any], principal: Principal,
                       policies: PolicyService) -> dict[str, Any]:
        """Check a document as ``POST /v1/policies`` would, writing nothing (admin; a dry run).

        200 ``{id, name, timezone, fingerprint, version_in_force, changes}`` (``changes``: publishing
        it would make a new version); 422 ``validation_failed`` with the same ``errors`` as publishing.
        """
        principal.require(Role.ADMIN)
        return await asyncio.to_thread(policies.validate, await _document(request))

    @get("/", sync_to_thread=True)
    def list_policies(self, principal: Principal, policies: PolicyService) -> dict[str, Any]:
        """Every policy's version in force: ``{items: [{id, version, published_at, by, name, timezone}]}``
        (admin, auditor, agent; a customer's user gets its own customer's policy only)."""
        principal.require(*READERS, Role.CUSTOMER)
        return {"items": policies.list(principal)}

    @get("/{policy_id:str}", sync_to_thread=True)
    def get_policy(self, policy_id: str, principal: Principal, policies: PolicyService,
                   as_of: str | None = Parameter(default=None, description="RFC 3339: the version in force then"),
                   version: int | None = Parameter(default=None, ge=1, description="that version (1, 2, …)"),
                   ) -> dict[str, Any]:
        """One policy: ``{id, version, published_at, by, fingerprint, document}`` (admin, auditor, agent)."""
        principal.require(*READERS)
        return policies.get(policy_id, _instant(as_of), version)

    @get("/{policy_id:str}/versions", sync_to_thread=True)
    def list_versions(self, policy_id: str, principal: Principal, policies: PolicyService) -> dict[str, Any]:
        """Every version of a policy, oldest first: ``{items: [{id, version, published_at, by, fingerprint}]}``."""
        principal.require(*READERS)
        return {"items": policies.versions(policy_id)}


async def _document(request: HttpRequest[Any, Any, Any]) -> str:
    """The TOML document a request carries; 415 for any other content type."""
    if request.content_type[0] != TOML:
        raise Problem(415, "unsupported_media_type", f"a policy is sent as {TOML}")
    return (await request.body()).decode("utf-8", errors="replace")


def _instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Problem(400, "validation_failed", "as_of must be an RFC 3339 instant") from None
    if instant.tzinfo is None:
        raise Problem(400, "validation_failed", "as_of needs a time zone offset (RFC 3339)")
    return instant

