"""query's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class QuerySettings(CommonSettings, kw_only=True):
    query_port: int = 8002
    pool_size: int = 10
    projector_batch: int = 500  # messages per projection transaction
    min_position_timeout: float = 5.0  # seconds a Helpdesk-Min-Position read may wait
    run_projector: bool = True  # `serve` also projects (a standby if another projector is active)
    policy_dir: str | None = None  # operators' SLA policies, for the sla block's business calendars
    consumer_stuck_seconds: float = 30.0  # /readyz: 503 once a consumer with work made no progress this long
