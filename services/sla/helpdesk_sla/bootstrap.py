"""The one place sla is wired.

Its consumers arrive with their own issue; until then the service runs, connects
to what it will need, and says truthfully whether it is connected (``/readyz``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar

from helpdesk_shared.connections import database_answers, nats_connection
from helpdesk_shared.settings import from_env
from helpdesk_shared.telemetry import setup_tracing
from helpdesk_shared.web.app import build_app
from helpdesk_shared.web.auth import Authenticator

from helpdesk_sla.settings import SlaSettings

VERSION = "0.1.0"


def create_app(settings: SlaSettings | None = None) -> Litestar:
    settings = settings or from_env(SlaSettings)
    held: dict[str, object] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            held["nats"] = await stack.enter_async_context(nats_connection(settings.nats_url, "helpdesk-sla"))
            yield

    async def nats_ready() -> bool:
        nc = held.get("nats")
        return bool(nc is not None and nc.is_connected)  # type: ignore[attr-defined]

    async def database_ready() -> bool:
        return await database_answers(settings.database_url)

    return build_app(
        service="sla", version=VERSION, handlers=[],
        authenticator=Authenticator(settings.jwt_secret, settings.admin_token),
        readiness={"database": database_ready, "nats": nats_ready},
        tracer_provider=setup_tracing("sla"), lifespan=[lifespan],
    )
