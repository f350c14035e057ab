"""The portal's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class PortalSettings(CommonSettings, kw_only=True):
    portal_port: int = 8005
    query_url: str = "http://127.0.0.1:8002"
    # Signs the CSRF cookie; unset, a random one per process (sessions survive, forms in flight do not).
    portal_secret: str | None = None
    portal_secure_cookies: bool = True  # off only for plain-HTTP development (make up)
    portal_refresh_before_seconds: int = 300  # renew the token this long before it expires
    portal_api_timeout_seconds: float = 10.0
    portal_page_size: int = 25
