"""intake's routes: thin adapters from HTTP to the use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from litestar import Controller, Response, get, patch, post
from litestar import Request as HttpRequest
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.openapi import ResponseSpec

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.telemetry import current_traceparent
from helpdesk_shared.web.auth import Principal, TokenIssuer
from helpdesk_shared.web.problems import Problem
from helpdesk_shared.workflow import Action

from helpdesk_intake.application import IdentityService, Outcome, Request, TicketService
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.entrypoints.http.client_address import ClientAddress
from helpdesk_intake.entrypoints.http.clock import ClockController
from helpdesk_intake.entrypoints.http.directory import DirectoryRoutes
from helpdesk_intake.entrypoints.http.meta import answer, provide_command
from helpdesk_intake.entrypoints.http.threads import CommandThreads

STAFF_ROLES = (Role.ADMIN, Role.AGENT, Role.SERVICE)
JWKS_CACHING = ResponseHeader(name="Cache-Control", value="public, max-age=30",
                              description="The key set may be cached, briefly: keys rotate.")
WRITERS = (*STAFF_ROLES, Role.CUSTOMER)


def _refusals(*pairs: tuple[int, str]) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(dict[str, Any], generate_examples=False, description=description,
                                 media_type="application/problem+json") for status, description in pairs}


LOGIN_REFUSALS = _refusals(
    (401, "unauthorized: wrong login or password"),
    (403, "forbidden: the account is blocked or deactivated, or its customer has no active contract"),
    (429, "too_many_attempts: wait the Retry-After header's seconds; the password was not checked"),
)
RENEWAL_REFUSALS = _refusals(
    (401, "unauthorized: the token is invalid or revoked, or the session reached its maximum length"),
    (403, "forbidden: the account is blocked or deactivated, or its customer has no active contract"),
)
PASSWORD_REFUSALS = _refusals(
    (401, "unauthorized: the token is invalid or revoked"),
    (422, "validation_failed: the current password is wrong, or the new one too short or long"),
    (429, "too_many_attempts: too many wrong current passwords; wait the Retry-After header's seconds"),
)


@dataclass(frozen=True)
class SessionLimit:
    """How long a session may be renewed for after its sign-in (HELPDESK_SESSION_MAX_SECONDS)."""

    seconds: int


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post("/token", sync_to_thread=True, status_code=200, responses=LOGIN_REFUSALS)
    def token(self, request: HttpRequest[Any, Any, Any], data: cmd.Login, identity: IdentityService,
              tokens: TokenIssuer, client_address: ClientAddress) -> dict[str, Any]:
        """Exchange a login and password for a bearer token.

        Wrong credentials answer 401, a blocked account 403; after repeated failures on a
        login, or too many attempts from one address, 429 ``too_many_attempts`` with
        ``Retry-After`` (seconds), and the password is not checked until then.
        """
        return _token(tokens, identity.login(data, client_address.of(request)), identity.now())

    @post("/refresh", sync_to_thread=True, status_code=200, responses=RENEWAL_REFUSALS)
    def refresh(self, principal: Principal, identity: IdentityService, tokens: TokenIssuer,
                session_limit: SessionLimit) -> dict[str, Any]:
        """Renew a token before it expires: a new one for the same session (sliding sessions).

        The session ends ``HELPDESK_SESSION_MAX_SECONDS`` after the sign-in (401: sign in again),
        and when the user is blocked or deactivated (403) or changes their password (401).
        """
        now = tokens.instant(identity.now())
        renewed = identity.renewed(principal, now.timestamp(), session_limit.seconds)
        return _token(tokens, renewed, now)

    @post("/password", sync_to_thread=True, status_code=200, responses=PASSWORD_REFUSALS)
    def password(self, request: HttpRequest[Any, Any, Any], data: cmd.ChangeOwnPassword, principal: Principal,
                 identity: IdentityService, tokens: TokenIssuer, client_address: ClientAddress) -> Response[Any]:
        """Change your own password (``{current, new}``); your other tokens stop working.

        Answers a token of the same session under the new password. A wrong ``current``
        answers 422 (``errors`` names it) and counts as a failed login for throttling.
        """
        if principal.session_id is None:
            raise Problem(403, "forbidden", "only a signed-in user changes their password (sign in with a login)")
        # no Idempotency-Key here: its fingerprint would be a hash of the passwords
        own = Request(principal=principal, traceparent=current_traceparent())
        outcome = identity.change_own_password(own, data, client_address.of(request))
        body = _token(tokens, identity.session_after_change(principal), identity.now())
        return answer(replace(outcome, body={**outcome.body, **body}))

    @get("/jwks", sync_to_thread=False, response_headers=[JWKS_CACHING])
    def jwks(self, tokens: TokenIssuer) -> dict[str, Any]:
        """The public keys that verify intake's tokens (RFC 7517 JWK set, Ed25519, by ``kid``); no token needed.

        Every key in intake's key directory is listed, the signing one and those still
        verifying tokens issued before a rotation. Cacheable for a short while only, so a
        removed key disappears from every verifier soon.
        """
        return tokens.ring.current().jwks()


def _token(tokens: TokenIssuer, principal: Principal, now: dt.datetime) -> dict[str, Any]:
    return {"access_token": tokens.issue(principal, now), "token_type": "bearer", "expires_in": tokens.ttl_seconds}


class ProvisioningController(DirectoryRoutes):
    path = "/v1"
    tags = ["provisioning"]
    dependencies = {"command": Provide(provide_command)}

    @post("/customers", sync_to_thread=True)
    def register_customer(self, data: cmd.RegisterCustomer, command: Request,
                          identity: IdentityService) -> Response[Any]:
        """Register a customer under an SLA policy (admin); answers ``201 {id}``."""
        command.principal.require(Role.ADMIN)
        return answer(identity.register_customer(command, data))

    @patch("/customers/{customer_id:str}", sync_to_thread=True)
    def change_customer(self, customer_id: str, data: cmd.ChangeCustomer, command: Request,
                        identity: IdentityService) -> Response[Any]:
        """Change a customer's policy or contract (admin); ``contract.active=false`` blocks its users (MED-4)."""
        command.principal.require(Role.ADMIN)
        return answer(identity.change_customer(command, customer_id, data))

    @post("/customers/{customer_id:str}/users", sync_to_thread=True)
    def register_customer_user(self, customer_id: str, data: cmd.RegisterCustomerUser, command: Request,
                               identity: IdentityService) -> Response[Any]:
        """Register one of a customer's employees (admin), role ``customer``; answers ``201 {id}``."""
        command.principal.require(Role.ADMIN)
        return answer(identity.register_customer_user(command, customer_id, data))

    @post("/staff", sync_to_thread=True)
    def register_staff(self, data: cmd.RegisterStaff, command: Request,
                       identity: IdentityService) -> Response[Any]:
        """Register an agent, admin or auditor (admin); answers ``201 {id}``."""
        command.principal.require(Role.ADMIN)
        return answer(identity.register_staff(command, data))


class TicketController(Controller):
    """The ticket commands, intake's hot path: the caller and the command are their one chain of dependencies,
    the service comes from the app's state (two independent dependencies cost a task group per request), and
    each runs on the command threads (threads.py), not litestar's executor."""

    path = "/v1/tickets"
    tags = ["tickets"]
    dependencies = {"command": Provide(provide_command)}

    @post("/")
    async def open(self, data: cmd.OpenTicket, command: Request, request: HttpRequest[Any, Any, Any]) -> Response[Any]:
        """Open a ticket; it gets a unique number and starts as ``new``."""
        command.principal.require(*WRITERS)
        return answer(await off_loop(request, ticket_service(request).open, command, data))

    @patch("/{ticket_id:str}")
    async def triage(self, ticket_id: str, data: cmd.Triage, command: Request,
                     request: HttpRequest[Any, Any, Any]) -> Response[Any]:
        """Triage and plan a ticket (agents)."""
        command.principal.require(*STAFF_ROLES)
        return answer(await off_loop(request, ticket_service(request).triage, command, ticket_id, data))

    @post("/{ticket_id:str}/comments")
    async def comment(self, ticket_id: str, data: cmd.AddComment, command: Request,
                      request: HttpRequest[Any, Any, Any]) -> Response[Any]:
        """Comment; a customer's public comment on a ticket awaiting them is the clarification."""
        command.principal.require(*WRITERS)
        return answer(await off_loop(request, ticket_service(request).comment, command, ticket_id, data))

    @post("/{ticket_id:str}/time-entries")
    async def log_time(self, ticket_id: str, data: cmd.LogTime, command: Request,
                       request: HttpRequest[Any, Any, Any]) -> Response[Any]:
        """Log time spent; billed minutes follow the policy's rounding."""
        command.principal.require(*STAFF_ROLES)
        return answer(await off_loop(request, ticket_service(request).log_time, command, ticket_id, data))

    @post("/{ticket_id:str}/actions/{action:str}", status_code=200)
    async def act(self, ticket_id: str, action: str, command: Request, request: HttpRequest[Any, Any, Any],
                  data: cmd.ActOnTicket | None = None) -> Response[Any]:
        """Move a ticket through its workflow (CONTRACT §3's table).

        An action not open from the ticket's status, or to the caller's role, answers 409
        ``invalid_transition``; a return after the policy's reopen window 409 ``reopen_window_closed``.
        """
        command.principal.require(*WRITERS)
        return answer(await off_loop(request, ticket_service(request).act, command, ticket_id, action,
                                     data or cmd.ActOnTicket()))


def ticket_service(request: HttpRequest[Any, Any, Any]) -> TicketService:
    """The ticket use cases, which the lifespan puts in the app's state once it has wired them."""
    return request.app.state.tickets  # type: ignore[no-any-return]


async def off_loop(request: HttpRequest[Any, Any, Any], use_case: Callable[..., Outcome], *args: Any) -> Outcome:
    """``use_case(*args)`` on the app's command threads (the lifespan starts them): it blocks on its commit."""
    threads: CommandThreads = request.app.state.command_threads
    return await threads.run(use_case, *args)


class CatalogueController(Controller):
    path = "/v1/catalogue"
    tags = ["tickets"]

    @get("/", sync_to_thread=True)
    def catalogue(self, principal: Principal, tickets: TicketService,
                  customer_id: str | None = None) -> dict[str, Any]:
        """What the customer's policy offers, for clients to render (CONTRACT §3).

        ``{services: [{code, name: {ru, en}, paid_extra, children}], forms: [{category, channel?,
        fields: [{name, type, required, label, help?, choices?}]}], priorities, channels,
        deferral_reasons: [{code, label}]}``. A customer's user reads its own customer's; staff
        name ``customer_id`` (422 without it, 404 for an unknown one).
        """
        return tickets.catalogue(principal, customer_id)


ENUMS = {"action": Action}  # parameters whose values the OpenAPI document lists
CONTROLLERS = [AuthController, ProvisioningController, TicketController, CatalogueController, ClockController]
