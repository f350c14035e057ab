"""notify's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings


class NotifySettings(CommonSettings, kw_only=True):
    notify_port: int = 8004
    smtp_url: str = "smtp://127.0.0.1:2525"  # smtps://host:port for implicit TLS
    smtp_starttls: bool = False  # upgrade a smtp:// connection with STARTTLS (required when set)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 10.0  # seconds for each SMTP step
    mail_from: str = "Helpdesk <helpdesk@localhost>"
    notify_senders: int = 4  # concurrent SMTP connections
    notify_claim: int = 10  # mails a sender claims at a time (one round trip for the lot)
    notify_max_attempts: int = 6  # then the mail is dead (listed at /v1/admin/deliveries?state=dead)
    notify_backoff_seconds: float = 1.0  # the first retry's delay; it doubles each time
    notify_backoff_max_seconds: float = 300.0
    notify_batch: int = 200  # stream messages per projection transaction
    notify_poll_seconds: float = 0.5  # how often idle senders look for due retries
    pool_size: int = 10
    policy_dir: str | None = None  # the operator's own SLA policies, besides the presets
    consumer_stuck_seconds: float = 30.0  # /readyz: 503 once a consumer with work made no progress this long
