"""The one place the portal is wired: settings → API clients, templates, CSRF, routes, health and metrics."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins.prometheus import PrometheusConfig
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from helpdesk_shared.clock import SystemClock
from helpdesk_shared.clock_sync import followed_clock
from helpdesk_shared.web.health import HEALTH_HANDLERS

from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.domain.session import NotSignedIn
from helpdesk_portal.entrypoints import auth, chat, live, policies, tickets, workspace
from helpdesk_portal.entrypoints import admin_directory, admin_releases, admin_users, audit, dashboards
from helpdesk_portal.entrypoints.web import api_refused, current_user, not_signed_in, refused, page_headers, unexpected
from helpdesk_portal.settings import PortalSettings

VERSION = "0.1.0"
HERE = Path(__file__).parent
log = logging.getLogger("helpdesk.portal")


def templates() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping and the i18n extension; the gettext callables come with each page's context.
    Templates ship with the package: compiled once, never re-checked on disk (``auto_reload``) per render."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def readiness(settings: PortalSettings) -> dict[str, object]:
    """Ready when intake and query answer: the portal can do nothing without them."""
    async def upstream(url: str) -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url.rstrip("/") + "/healthz")).status_code == 200

    return {"intake": lambda: upstream(settings.intake_url), "query": lambda: upstream(settings.query_url)}


def create_app(settings: PortalSettings) -> Litestar:
    if not settings.portal_secret:
        log.warning("HELPDESK_PORTAL_SECRET is unset: a random one signs the CSRF cookies of this process only")
    api = Api(settings.intake_url, settings.query_url, settings.portal_api_timeout_seconds)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            async with followed_clock(settings, "helpdesk-portal") as clock:
                app.state.clock = clock  # the test clock when HELPDESK_CLOCK=simulated (CONTRACT §6)
                yield
        finally:
            await api.close()

    csrf = CSRFConfig(secret=settings.portal_secret or secrets.token_urlsafe(32), cookie_name="helpdesk_csrf",
                      cookie_secure=settings.portal_secure_cookies, cookie_httponly=True, cookie_samesite="lax",
                      header_name="x-csrftoken", exclude=["/healthz", "/readyz", "/metrics", "/static"])
    prometheus = PrometheusConfig(app_name="helpdesk_portal", group_path=True,
                                  exclude=["/metrics", "/healthz", "/readyz", "/static"])
    static = create_static_files_router(path="/static", directories=[HERE / "static"], name="static",
                                        cache_control=None, include_in_schema=False)
    return Litestar(
        route_handlers=[*HEALTH_HANDLERS, static, *auth.ROUTES, *tickets.ROUTES,
                        *workspace.ROUTES, *live.ROUTES,
                        *policies.ROUTES,
                        admin_directory.ROUTER, admin_users.ROUTER, admin_releases.ROUTER, *dashboards.ROUTES,
                        *audit.ROUTES, *chat.ROUTES],
        dependencies={"user": Provide(current_user, sync_to_thread=False),
                      "api": Provide(lambda: api, sync_to_thread=False)},
        exception_handlers={NotSignedIn: not_signed_in, ApiError: api_refused, HTTPException: refused,
                            Exception: unexpected},  # type: ignore[dict-item]
        middleware=[prometheus.middleware],
        csrf_config=csrf,
        template_config=templates(),
        before_send=[page_headers, auth.session_refresher(api, settings.portal_refresh_before_seconds,
                                                          settings.portal_secure_cookies)],
        lifespan=[lifespan],
        state=State({"settings": settings, "readiness": readiness(settings), "clock": SystemClock()}),
        openapi_config=None,
        logging_config=None,  # setup_logging's root logger and HELPDESK_LOG_LEVEL stand (not litestar's INFO)
        debug=False,
    )
