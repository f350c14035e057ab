"""Login throttling rules (CONTRACT §7 ``too_many_attempts``): growing delays, never a lockout.

Two limits guard ``POST /v1/auth/token``:
- **per login** (trimmed, case-folded): the first ``free_failures`` wrong passwords in
  a row cost nothing; each further one makes the login wait ``first_delay``, then
  twice that, and so on up to ``max_delay``. While it waits, attempts are refused
  without checking the password and do not lengthen the wait, so an attacker can
  slow a victim down but never lock them out for longer than ``max_delay``. A right
  password starts the count afresh, and failures are forgotten after a quiet day.
- **per client address**: at most ``address_attempts`` attempts (right or wrong, any
  login) in a fixed window of ``address_window``.

Pure rules: the instant is always passed in.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from helpdesk_intake.domain.base import DomainError

FAILURES_FORGOTTEN_AFTER = dt.timedelta(days=1)


class TooManyAttempts(DomainError):
    """Too many login attempts for this login or from this address: try again after ``retry_after`` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimits:
    """How patient the desk is with wrong passwords (see the module's docstring)."""

    free_failures: int = 5
    first_delay: dt.timedelta = dt.timedelta(seconds=1)
    max_delay: dt.timedelta = dt.timedelta(minutes=15)
    address_attempts: int = 60
    address_window: dt.timedelta = dt.timedelta(minutes=1)

    def failures_so_far(self, failures: int, last_failure: dt.datetime | None, now: dt.datetime) -> int:
        """The failures in a row that still count: none after a quiet day."""
        if last_failure is None or now - last_failure >= FAILURES_FORGOTTEN_AFTER:
            return 0
        return failures

    def wait_after(self, failures: int) -> dt.timedelta | None:
        """How long the login waits after its ``failures``-th failure in a row; None while free."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return None
        doubled = self.first_delay.total_seconds() * 2.0 ** min(beyond - 1, 64)
        return dt.timedelta(seconds=min(doubled, self.max_delay.total_seconds()))

    def check_login(self, blocked_until: dt.datetime | None, now: dt.datetime) -> None:
        """Refuse an attempt on a login that is still waiting."""
        if blocked_until is not None and blocked_until > now:
            raise TooManyAttempts("too many failed logins; wait before trying again",
                                  retry_after(blocked_until, now))

    def check_address(self, attempts: int, window_start: dt.datetime, now: dt.datetime) -> None:
        """Refuse an attempt beyond the address's allowance in the current window."""
        if attempts > self.address_attempts:
            raise TooManyAttempts("too many login attempts from your address; wait before trying again",
                                  retry_after(window_start + self.address_window, now))


def retry_after(until: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds until ``until`` (at least 1), for the ``Retry-After`` header."""
    return max(1, math.ceil((until - now).total_seconds()))
