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
        if request.content_type[0] != TOML:
            raise Problem(415, "unsupported_media_type", f"a policy is sent as {TOML}")
        text = (await request.body()).decode("utf-8", errors="replace")
        command = command_request(request, principal, text)
        return answer(await asyncio.to_thread(policies.publish, command, text))

    @get("/", sync_to_thread=True)
    def list_policies(self, principal: Principal, policies: PolicyService) -> dict[str, Any]:
        """Every policy's version in force: ``{items: [{id, version, published_at, by}]}`` (admin, auditor, agent)."""
        principal.require(*READERS)
        return {"items": policies.list()}

    @get("/{policy_id:str}", sync_to_thread=True)
    def get_policy(self, policy_id: str, principal: Principal, policies: PolicyService,
                   as_of: str | None = Parameter(default=None, description="RFC 3339: the version in force then"),
                   ) -> dict[str, Any]:
        """One policy: ``{id, version, published_at, by, fingerprint, document}`` (admin, auditor, agent)."""
        principal.require(*READERS)
        return policies.get(policy_id, _instant(as_of))


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

