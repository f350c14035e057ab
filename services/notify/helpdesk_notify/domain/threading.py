"""Message-IDs that keep a ticket one thread and make a resent mail recognisably the same.

Every mail of a ticket answers the ticket's root id (In-Reply-To and References),
so mail clients thread them. A ticket opened by email also references the
customer's own message, and its acknowledgement answers that message directly
(TEL-6, END-2), so the whole exchange hangs under what the customer sent. A reply
to an inbound mail that was not registered answers that mail. Each mail's own
Message-ID is derived from its deduplication key, so a mail sent again after a
crash carries the same id and a receiver that has it already can drop the copy
(RFC 5322 §3.6.4).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

DOMAIN = "helpdesk"
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MSG_ID = re.compile(r"^<?([^<>\s\"]{1,500}@[^<>\s\"]{1,250})>?$")


def root_message_id(ticket_id: str) -> str:
    """``<ticket-{ticket_id}@helpdesk>``; an id that is not a safe atom is hashed."""
    return f"<ticket-{_atom(ticket_id)}@{DOMAIN}>"


def message_id(dedup_key: str) -> str:
    """The one Message-ID of the mail for ``dedup_key`` (``event id:recipient id``)."""
    return f"<mail-{hashlib.sha256(dedup_key.encode()).hexdigest()[:40]}@{DOMAIN}>"


def normalized(value: str | None) -> str | None:
    """A foreign Message-ID as ``<left@right>``; None for anything else (never a header injection)."""
    match = _MSG_ID.match(value.strip()) if value else None
    return f"<{match.group(1)}>" if match else None


def thread_headers(context: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(In-Reply-To, References) of a mail, from what its notification recorded.

    ``in_reply_to`` is the message the mail answers (the customer's opening mail for an
    acknowledgement, a refused mail for a refusal), else the ticket's root; References
    lists the customer's opening mail, then the ticket's root.
    """
    origin, root = context.get("origin_message_id"), context.get("root_message_id")
    in_reply_to = context.get("in_reply_to") or root or origin
    references = " ".join(dict.fromkeys(i for i in (origin, root, in_reply_to) if i))
    return in_reply_to, references or None


def _atom(value: str) -> str:
    return value if _SAFE.match(value) else hashlib.sha256(value.encode()).hexdigest()[:40]
