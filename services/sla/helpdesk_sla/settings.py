"""sla's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class SlaSettings(CommonSettings, kw_only=True):
    sla_port: int = 8003
