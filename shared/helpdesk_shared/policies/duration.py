"""Durations as policies write them: ``"3bd"``, ``"4wh"``, ``"10wm"``, ``"2w"``, ``"14d"``, ``"5m"``.

Business units (``wm`` working minutes, ``wh`` working hours, ``bd`` business days)
count on the policy's calendar; calendar units (``m``, ``h`` elapsed; ``d``, ``w``
local calendar days and weeks) count every moment.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from helpdesk_shared.calendar import BusinessCalendar, from_us, to_us


class Unit(StrEnum):
    WORKING_MINUTES = "wm"
    WORKING_HOURS = "wh"
    BUSINESS_DAYS = "bd"
    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"


_BUSINESS = frozenset({Unit.WORKING_MINUTES, Unit.WORKING_HOURS, Unit.BUSINESS_DAYS})
_SECONDS = {Unit.WORKING_MINUTES: 60, Unit.WORKING_HOURS: 3600, Unit.MINUTES: 60, Unit.HOURS: 3600}
_PATTERN = re.compile(r"^\s*(\d+)\s*(wm|wh|bd|m|h|d|w)\s*$")


class Duration:
    """A whole number of one unit; immutable, compared by value."""

    __slots__ = ("amount", "unit")

    def __init__(self, amount: int, unit: Unit | str) -> None:
        if amount <= 0:
            raise ValueError(f"duration must be positive, got {amount}")
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "unit", Unit(unit))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Duration is immutable")

    @classmethod
    def parse(cls, text: object) -> Duration:
        """``"3bd"`` → ``Duration(3, Unit.BUSINESS_DAYS)``; raises ValueError naming the units."""
        match = _PATTERN.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"bad duration {text!r}: expected a positive whole number and a unit, one of "
                "wm (working minutes), wh (working hours), bd (business days), "
                "m, h (calendar minutes, hours), d, w (calendar days, weeks), e.g. '3bd'"
            )
        return cls(int(match.group(1)), match.group(2))

    @property
    def is_business(self) -> bool:
        """Whether the duration counts only working time."""
        return self.unit in _BUSINESS

    def after(self, calendar: BusinessCalendar, instant: dt.datetime) -> dt.datetime:
        """The instant this duration after ``instant``."""
        return from_us(self.after_us(calendar, to_us(instant)))

    def before(self, calendar: BusinessCalendar, instant: dt.datetime) -> dt.datetime:
        """The instant this duration before ``instant`` (warning leads)."""
        return from_us(self.before_us(calendar, to_us(instant)))

    def after_us(self, calendar: BusinessCalendar, us: int) -> int:
        """``after`` on epoch microseconds."""
        return self._shift(calendar, us, self.amount)

    def before_us(self, calendar: BusinessCalendar, us: int) -> int:
        """``before`` on epoch microseconds."""
        return self._shift(calendar, us, -self.amount)

    def _shift(self, calendar: BusinessCalendar, us: int, amount: int) -> int:
        unit = self.unit
        if unit is Unit.BUSINESS_DAYS:
            return calendar.add_business_days_us(us, amount)
        if unit in (Unit.WORKING_MINUTES, Unit.WORKING_HOURS):
            return calendar.add_us(us, amount * _SECONDS[unit] * 1_000_000)
        if unit in (Unit.DAYS, Unit.WEEKS):
            days = amount * (7 if unit is Unit.WEEKS else 1)
            return to_us(calendar.add_calendar_days(from_us(us), days))
        return us + amount * _SECONDS[unit] * 1_000_000

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"

    def __repr__(self) -> str:
        return f"Duration({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and (self.amount, self.unit) == (other.amount, other.unit)

    def __hash__(self) -> int:
        return hash((self.amount, self.unit))


def dec_hook(type_: type, obj: object) -> object:
    """msgspec hook: policy files write durations as strings."""
    if type_ is Duration:
        return Duration.parse(obj)
    raise NotImplementedError(f"cannot decode {type_!r}")


def enc_hook(obj: object) -> object:
    """msgspec hook: durations are written back as their strings."""
    if isinstance(obj, Duration):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj)!r}")
