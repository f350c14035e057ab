"""The one place a helpdesk HTTP app gets its common shape: errors, auth, health, metrics, tracing,
the text rule on every body and parameter, and the security headers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from opentelemetry.sdk.trace import TracerProvider

from helpdesk_shared.web.auth import Authenticator, provide_principal
from helpdesk_shared.web.edge import CheckedRequest, IdShapes, ParameterGuard
from helpdesk_shared.web.headers import DOCUMENTED, security_headers
from helpdesk_shared.web.health import HEALTH_HANDLERS, ReadinessCheck
from helpdesk_shared.web.openapi import complete_openapi
from helpdesk_shared.web.problems import EXCEPTION_HANDLERS
from helpdesk_shared.web.request_telemetry import RequestTelemetry
from helpdesk_shared.web.revocation import revocations_replayed

MAX_BODY_BYTES = 1_048_576  # 1 MiB: a ticket is text; attachments travel elsewhere
EDGE_RULES = (
    "Every 4xx/5xx answer is an RFC 9457 problem document (application/problem+json) with a `code`. "
    "Text (JSON body fields, form parts, file names, query parameters) holding a control character other "
    "than tab, line feed and carriage return, or a lone surrogate, is refused with 422 `validation_failed`, "
    "`errors: [{field, message}]` naming each field; a path parameter holding one, or an id off its shape, "
    "answers 404 `not_found`. Every answer carries `X-Content-Type-Options: nosniff`; answers to "
    "authenticated requests `Cache-Control: no-store`; every 401 `WWW-Authenticate: Bearer`.")


def _replayed(authenticator: Authenticator) -> dict[str, ReadinessCheck]:
    """Not ready until the token revocations are replayed (the lifespan's ``following_revocations``)."""
    return {"revocations": revocations_replayed(authenticator)}


def build_app(
    *,
    service: str,
    version: str,
    handlers: Sequence[Any],
    authenticator: Authenticator,
    readiness: dict[str, ReadinessCheck],
    tracer_provider: TracerProvider,
    lifespan: Sequence[Callable[[Litestar], Any]] = (),
    state: dict[str, Any] | None = None,
    dependencies: dict[str, Provide] | None = None,
    exception_handlers: dict[type[Exception], Callable[..., Any]] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    ids: IdShapes | None = None,
    enums: Mapping[str, Iterable[str]] | None = None,
) -> Litestar:
    """A litestar app with the contract's common behaviour; the service adds its own handlers.

    ``ids`` names the path and query parameters that are ids, with the shape each must have;
    ``enums`` the parameters (beyond the vocabulary's) whose values the OpenAPI document lists.
    """
    # One server span per request, the request metrics and the parameter check, in one layer (request_telemetry.py).
    telemetry = RequestTelemetry(f"helpdesk_{service}", tracer_provider, ParameterGuard(ids))
    return Litestar(
        route_handlers=[*HEALTH_HANDLERS, *handlers],
        dependencies={"principal": Provide(provide_principal), **(dependencies or {})},
        exception_handlers={**EXCEPTION_HANDLERS, **(exception_handlers or {})},  # type: ignore[dict-item]
        middleware=[telemetry.middleware],
        request_class=CheckedRequest,
        before_send=[security_headers],
        response_headers=DOCUMENTED,
        lifespan=list(lifespan),
        on_startup=[lambda app: complete_openapi(app, enums)],
        state=State({"authenticator": authenticator, "readiness": {**readiness, **_replayed(authenticator)},
                     **(state or {})}),
        request_max_body_size=max_body_bytes,
        logging_config=None,  # setup_logging's root logger and HELPDESK_LOG_LEVEL stand, not litestar's own
        openapi_config=OpenAPIConfig(
            title=f"helpdesk {service}",
            version=version,
            description=EDGE_RULES,
            path="/schema",
            use_handler_docstrings=True,
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT", description=(
                    'A 401 answer carries WWW-Authenticate: Bearer realm="helpdesk", with '
                    'error="invalid_token" when the token given was refused.')),
            }),
            security=[{"bearer": []}],
        ),
    )
