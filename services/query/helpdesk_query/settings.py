"""query's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class QuerySettings(CommonSettings, kw_only=True):
    query_port: int = 8002
    pool_size: int = 10
    projector_batch: int = 2000  # messages per projection transaction at most (a backlog: fewer round trips)
    min_position_timeout: float = 5.0  # seconds a Helpdesk-Min-Position read may wait
    run_projector: bool = True  # `serve` also projects (a standby if another projector is active)
    projector_metrics_port: int = 9103  # `project`: /metrics, /healthz, /readyz (0: none)
    policy_dir: str | None = None  # operators' SLA policies, for the sla block's business calendars
    consumer_stuck_seconds: float = 30.0  # /readyz: 503 once a consumer with work made no progress this long
    stream_max: int = 500  # open GET /v1/stream connections per process; beyond: 503 not_ready
    stream_buffer: int = 1000  # changes a stream may hold unsent; a client that far behind is cut off
    stream_keepalive_seconds: float = 15.0  # a comment line on a quiet stream this often
    stream_replay_limit: int = 10_000  # changes a Last-Event-ID resume replays at most (then `reset`)
