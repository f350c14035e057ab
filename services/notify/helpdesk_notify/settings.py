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
    # Webhooks (CONTRACT §10): registered on intake, delivered here.
    webhook_allow_loopback: bool = False  # deliver to 127.0.0.1/::1/localhost (http too): development only
    webhook_senders: int = 2  # concurrent delivery workers
    webhook_max_attempts: int = 8  # then the delivery is failed (retry it: POST …/deliveries/{n}/retry)
    webhook_backoff_seconds: float = 1.0  # before retry n: uniform(0, min(max, this · 2^(n-1)))
    webhook_backoff_max_seconds: float = 600.0
    webhook_timeout_seconds: float = 10.0  # connect, write and read, each
    consumer_stuck_seconds: float = 30.0  # /readyz: 503 once a consumer with work made no progress this long
