"""notify's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class NotifySettings(CommonSettings, kw_only=True):
    notify_port: int = 8004
