"""The one source of time for a service, and the one switch that picks it.

Domain code never reads the wall clock; it is handed ``now`` by the application
layer, which takes it from the service's single clock object. ``clock_from(settings)``
picks the system clock or the shared test clock (``HELPDESK_CLOCK=simulated``,
CONTRACT §6); each service's bootstrap calls it once and then asks the clock, never
its type, what the wiring must do for it (``ServiceClock``).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

    from helpdesk_shared.clock_sync import SharedClock
    from helpdesk_shared.settings import CommonSettings


class ClockMovedBackwards(Exception):
    """Time never moves back (CONTRACT §6)."""


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class ServiceClock(Clock, Protocol):
    """The clock a service's wiring holds: the time, and what the wiring does for it."""

    simulated: bool  # moves only by an admin's command (CONTRACT §6), never with the wall

    @property
    def movable(self) -> SharedClock | None:
        """The clock an admin moves and the SLA reports settling to: the test clock itself, else None."""
        ...

    async def follow(self, nc: NATS) -> None:
        """Start at the shared instant and follow its moves over ``nc``."""
        ...

    async def close(self) -> None:
        """Stop following."""
        ...


class SystemClock:
    """The real clock."""

    simulated = False
    movable = None

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def follow(self, nc: NATS) -> None:
        """The wall moves by itself: nothing to follow."""

    async def close(self) -> None:
        """Nothing to stop."""


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


def clock_from(settings: CommonSettings) -> ServiceClock:
    """The one clock switch: with ``HELPDESK_CLOCK=simulated`` the shared test clock (it follows NATS
    once its ``follow`` ran), otherwise the system clock."""
    if settings.clock != "simulated":
        return SystemClock()
    from helpdesk_shared.clock_sync import SharedClock  # NATS only for the test clock (and it imports this module)

    return SharedClock(replicas=settings.stream_replicas)


def _require_aware(instant: dt.datetime) -> None:
    if instant.tzinfo is None:
        raise ValueError("instants must carry a time zone")
