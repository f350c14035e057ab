"""intake's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from msgspec import Meta

from helpdesk_shared.settings import CommonSettings, SettingsError

MIB = 1024 * 1024
DAY = 86_400
# Public mail services: a sender there identifies no customer (IMC-3 forwards by domain).
PUBLIC_MAIL_DOMAINS = ("gmail.com,googlemail.com,yahoo.com,outlook.com,hotmail.com,live.com,icloud.com,"
                       "mail.ru,bk.ru,list.ru,inbox.ru,internet.ru,yandex.ru,ya.ru,rambler.ru")


class IntakeSettings(CommonSettings, kw_only=True):
    intake_port: int = 8001
    workers: int = 1
    pool_size: int = 20
    command_threads: Annotated[int, Meta(ge=0, le=256)] = 0  # threads per process the ticket commands run on; 0: 16
    token_ttl_seconds: int = 3600
    session_max_seconds: Annotated[int, Meta(ge=60)] = 12 * 3600  # POST /v1/auth/refresh renews up to this
    jwt_keys_dir: str | None = None  # Ed25519 signing keys, one <kid>.pem each; unset: <data_dir>/jwt-keys
    jwt_generate_key: bool = False  # development only: `serve` makes a key when the directory holds none
    max_body_bytes: int = 1_048_576
    aggregate_cache_size: int = 10_000
    policy_dir: str | None = None  # imported as policy versions at start and whenever a file changes
    policy_watch_seconds: Annotated[float, Meta(gt=0)] = 5.0  # how often HELPDESK_POLICY_DIR is looked at
    # The email channel: POST /v1/inbound/email and `helpdesk-intake smtp`.
    inbound_smtp_port: int = 2526
    # /metrics and /healthz of the processes without an HTTP API (0: none)
    relay_metrics_port: int = 9101
    relay_window: Annotated[int, Meta(ge=1, le=1000)] = 100  # messages the relay publishes at once (one atomic batch)
    smtp_metrics_port: int = 9102
    inbound_max_message_bytes: int = 25 * MIB  # over it: 413 / SMTP 552, nothing recorded
    inbound_max_attachment_bytes: int = 10 * MIB  # over it: refused too_large, the sender told
    inbound_max_attachments: int = 50
    inbound_public_domains: str = PUBLIC_MAIL_DOMAINS  # comma-separated
    # Passwords: argon2id, by default at OWASP's recommended minimum (19 MiB, 2 iterations, 1 lane).
    password_memory_kib: Annotated[int, Meta(ge=8)] = 19_456
    password_time_cost: Annotated[int, Meta(ge=1)] = 2
    password_parallelism: Annotated[int, Meta(ge=1)] = 1
    password_concurrency: Annotated[int, Meta(ge=1)] = 4  # hashes at once per process (memory_kib each)
    # Login throttling (domain/throttling.py): growing delays per login, a rate per client address.
    login_free_failures: Annotated[int, Meta(ge=0)] = 5
    login_first_delay_seconds: Annotated[float, Meta(gt=0, le=DAY)] = 1.0
    login_max_delay_seconds: Annotated[float, Meta(gt=0, le=DAY)] = 900.0  # a delay, never a lockout
    login_address_attempts: Annotated[int, Meta(ge=1)] = 60
    login_address_window_seconds: Annotated[float, Meta(gt=0, le=DAY)] = 60.0
    trusted_proxies: str = ""  # comma-separated CIDRs whose X-Forwarded-For names the client
    webhook_allow_loopback: bool = False  # webhooks to 127.0.0.1/::1/localhost (http too): development only

    def keys_dir(self) -> str:
        """Where intake's token signing keys are (HELPDESK_JWT_KEYS_DIR, else the data dir's jwt-keys)."""
        return self.jwt_keys_dir or f"{self.data_dir}/jwt-keys"

    def public_domains(self) -> frozenset[str]:
        return frozenset(d.strip().lower() for d in self.inbound_public_domains.split(",") if d.strip())

    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The proxies whose ``X-Forwarded-For`` is believed (HELPDESK_TRUSTED_PROXIES)."""
        try:
            return tuple(ipaddress.ip_network(cidr.strip(), strict=False)
                         for cidr in self.trusted_proxies.split(",") if cidr.strip())
        except ValueError as error:
            raise SettingsError(f"HELPDESK_TRUSTED_PROXIES: {error}") from None
