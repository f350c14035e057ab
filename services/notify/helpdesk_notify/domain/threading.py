"""Message-IDs that keep a ticket one thread and make a resent mail recognisably the same.

Every mail of a ticket answers the ticket's root id (In-Reply-To and References),
so mail clients thread them. Each mail's own Message-ID is derived from its
deduplication key, so a mail sent again after a crash carries the same id and a
receiver that has it already can drop the copy (RFC 5322 §3.6.4).
"""

from __future__ import annotations

import hashlib
import re

DOMAIN = "helpdesk"
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def root_message_id(ticket_id: str) -> str:
    """``<ticket-{ticket_id}@helpdesk>``; an id that is not a safe atom is hashed."""
    return f"<ticket-{_atom(ticket_id)}@{DOMAIN}>"


def message_id(dedup_key: str) -> str:
    """The one Message-ID of the mail for ``dedup_key`` (``event id:recipient id``)."""
    return f"<mail-{hashlib.sha256(dedup_key.encode()).hexdigest()[:40]}@{DOMAIN}>"


def _atom(value: str) -> str:
    return value if _SAFE.match(value) else hashlib.sha256(value.encode()).hexdigest()[:40]
