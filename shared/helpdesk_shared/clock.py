"""The one source of time for a service.

Domain code never reads the wall clock; it is handed ``now`` by the application
layer, which takes it from the service's single clock object. Swapping the
system clock for the simulated one (``HELPDESK_CLOCK=simulated``, CONTRACT §6) is
therefore one switch in each service's bootstrap.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class ClockMovedBackwards(Exception):
    """Time never moves back (CONTRACT §6)."""


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real clock."""

    simulated = False

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class SimulatedClock:
    """A clock that stands still until it is moved; it only ever moves forward."""

    simulated = True

    def __init__(self, start: dt.datetime) -> None:
        _require_aware(start)
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return self._now

    def set(self, instant: dt.datetime) -> dt.datetime:
        """Move to ``instant``; moving back raises ``ClockMovedBackwards``."""
        _require_aware(instant)
        instant = instant.astimezone(dt.UTC)
        with self._lock:
            if instant < self._now:
                raise ClockMovedBackwards(f"{instant.isoformat()} is before {self._now.isoformat()}")
            self._now = instant
            return instant

    def advance(self, seconds: float) -> dt.datetime:
        """Move forward by ``seconds`` (never negative)."""
        if seconds < 0:
            raise ClockMovedBackwards(f"cannot advance by {seconds} seconds")
        return self.set(self._now + dt.timedelta(seconds=seconds))


def _require_aware(instant: dt.datetime) -> None:
    if instant.tzinfo is None:
        raise ValueError("instants must carry a time zone")
