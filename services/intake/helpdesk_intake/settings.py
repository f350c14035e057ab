"""intake's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class IntakeSettings(CommonSettings, kw_only=True):
    intake_port: int = 8001
    workers: int = 1
    pool_size: int = 20
    token_ttl_seconds: int = 3600
    max_body_bytes: int = 1_048_576
    aggregate_cache_size: int = 10_000
    policy_dir: str | None = None
