"""intake's settings, from ``HELPDESK_*`` environment variables."""

from __future__ import annotations

from helpdesk_shared.settings import CommonSettings

MIB = 1024 * 1024
# Public mail services: a sender there identifies no customer (IMC-3 forwards by domain).
PUBLIC_MAIL_DOMAINS = ("gmail.com,googlemail.com,yahoo.com,outlook.com,hotmail.com,live.com,icloud.com,"
                       "mail.ru,bk.ru,list.ru,inbox.ru,internet.ru,yandex.ru,ya.ru,rambler.ru")


class IntakeSettings(CommonSettings, kw_only=True):
    intake_port: int = 8001
    workers: int = 1
    pool_size: int = 20
    token_ttl_seconds: int = 3600
    max_body_bytes: int = 1_048_576
    aggregate_cache_size: int = 10_000
    policy_dir: str | None = None
    # The email channel: POST /v1/inbound/email and `helpdesk-intake smtp`.
    inbound_smtp_port: int = 2526
    inbound_max_message_bytes: int = 25 * MIB  # over it: 413 / SMTP 552, nothing recorded
    inbound_max_attachment_bytes: int = 10 * MIB  # over it: refused too_large, the sender told
    inbound_max_attachments: int = 50
    inbound_public_domains: str = PUBLIC_MAIL_DOMAINS  # comma-separated

    def public_domains(self) -> frozenset[str]:
        return frozenset(d.strip().lower() for d in self.inbound_public_domains.split(",") if d.strip())
