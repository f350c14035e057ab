"""What happens after a failed attempt: try again later, or give up into the dead-letter state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``first`` s, doubling, capped at ``longest`` s, for ``max_attempts`` tries."""

    max_attempts: int = 6
    first: float = 1.0
    longest: float = 300.0

    def after_failure(self, attempts: int, permanent: bool) -> float | None:
        """Seconds until the next attempt, or None when the mail is dead (given up for good)."""
        if permanent or attempts >= self.max_attempts:
            return None
        return min(self.longest, self.first * 2 ** (attempts - 1))
