"""Webhook deliveries' rules (CONTRACT §10): the signature, and when to try again.

``Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>``:
the receiver recomputes the HMAC over the exact bytes it received and rejects an old
``t`` (replays). Retries back off exponentially with full jitter (AWS's "Exponential
Backoff and Jitter"), so many failing deliveries do not hammer a receiver in step.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

SIGNATURE_HEADER = "Helpdesk-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Helpdesk-Signature`` header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries; before try n+1 wait uniform(0, min(cap, base · 2^(n-1))) seconds."""

    max_attempts: int = 8
    base: float = 1.0
    cap: float = 600.0

    def after_failure(self, attempts: int, permanent: bool, draw: Callable[[float, float], float]) -> float | None:
        """Seconds until the next try (``draw`` is ``random.uniform``), or None: failed for good."""
        if permanent or attempts >= self.max_attempts:
            return None
        return draw(0.0, min(self.cap, self.base * 2 ** (attempts - 1)))


def answer_is_delivered(status: int) -> bool:
    """Any 2xx is delivered; everything else (3xx included: redirects are not followed) is retried."""
    return 200 <= status < 300
