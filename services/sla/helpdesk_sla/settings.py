"""sla's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class SlaSettings(CommonSettings, kw_only=True):
    sla_port: int = 8003
    policy_dir: str | None = None
    sla_batch: int = 500  # ticket events per consumer transaction, timers per firing transaction
    sla_consume: bool = True  # take part in consuming ticket events (one process is active at a time)
    consumer_stuck_seconds: float = 30.0  # /readyz: 503 once a consumer with work made no progress this long
