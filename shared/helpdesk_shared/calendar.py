"""Business calendar: the working time of one SLA policy, as precomputed UTC intervals.

Working hours are given in local wall time per weekday and turned into UTC instants day
by day, so a DST change moves the boundaries, never the counting. Intervals of whole
years are precomputed with prefix sums of working time: adding a duration or measuring
one is two bisections, not a walk over minutes. Instants are held as integer
microseconds since the epoch, so arithmetic is exact.

"N business days" (``add_business_days``): start from the working position of ``t``
(outside working time that is the start of the next working day), take the working
offset already elapsed in that day, and land at the same offset N working days later,
clamped to that day's end. Offset 0 lands at the end of the previous working day: a
ticket filed on Saturday and due "within 1 bd" is due at Monday's close.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import msgspec

from helpdesk_shared.production_calendar import ProductionCalendar

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_YEARS = 60  # guard against a calendar whose working time runs out


class WeekHours(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Working intervals per weekday, each ``"HH:MM-HH:MM"`` in local time (end may be 24:00)."""

    mon: list[str] = []
    tue: list[str] = []
    wed: list[str] = []
    thu: list[str] = []
    fri: list[str] = []
    sat: list[str] = []
    sun: list[str] = []

    def __post_init__(self) -> None:
        if not any(parse_intervals(getattr(self, day)) for day in _WEEKDAYS):
            raise ValueError("no working hours on any weekday")


class CalendarSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Data describing a business calendar; ``BusinessCalendar`` makes it computable."""

    timezone: str
    hours: WeekHours
    holidays: str | None = None  # country code for the `holidays` package, e.g. "RU"
    workday_hours: list[str] = []  # hours of a transferred working day; default: Monday's
    extra_days_off: list[dt.date] = []
    extra_working_days: list[dt.date] = []
    shorten_pre_holiday: bool = False  # a working day right before a holiday ends 1 h early (art. 95)
    shortened_days: list[dt.date] = []
    # The official production calendar: weekend holidays move by law (art. 112), the day
    # before a holiday is shortened, and deadlines past the published data are provisional.
    production_calendar: bool = False

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        if self.holidays is not None and self.holidays not in holidays_lib.list_supported_countries():
            raise ValueError(f"unknown holiday country {self.holidays!r}")
        if self.production_calendar and self.holidays is None:
            raise ValueError("production_calendar needs a holiday country")
        parse_intervals(self.workday_hours)


def parse_intervals(items: list[str]) -> tuple[tuple[int, int], ...]:
    """``["09:00-13:00", "14:00-18:00"]`` → minute-of-day pairs; raises ValueError if malformed."""
    out = []
    for item in items:
        try:
            start, end = (_minutes(part) for part in item.split("-"))
        except ValueError:
            raise ValueError(f"bad interval {item!r}, expected 'HH:MM-HH:MM'") from None
        if not 0 <= start < end <= 1440 or (out and start < out[-1][1]):
            raise ValueError(f"interval {item!r} is empty, out of the day or overlaps")
        out.append((start, end))
    return tuple(out)


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    if len(minutes) != 2 or not 0 <= int(minutes) < 60:
        raise ValueError(text)
    return int(hours) * 60 + int(minutes)


def _provisional_from(data: ProductionCalendar | None, zone: ZoneInfo) -> int | None:
    """The first instant (epoch microseconds) of the first year the data does not publish."""
    if data is None or data.published_through is None:
        return None
    return to_us(dt.datetime(data.published_through + 1, 1, 1, tzinfo=zone))


def to_us(instant: dt.datetime) -> int:
    """An aware instant as integer microseconds since the epoch."""
    if instant.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return (instant - _EPOCH) // _US


def from_us(us: int) -> dt.datetime:
    """Integer microseconds since the epoch as a UTC instant."""
    # Exact: a float keeps microseconds of instants up to the year 2200 within half a step.
    return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC)


class BusinessCalendar:
    """Working time of a policy: add and measure business durations in O(log n)."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.timezone)
        self._week = [parse_intervals(getattr(spec.hours, day)) for day in _WEEKDAYS]
        self._workday = parse_intervals(spec.workday_hours) or next(h for h in self._week if h)
        self._off, self._extra = frozenset(spec.extra_days_off), frozenset(spec.extra_working_days)
        self._short = frozenset(spec.shortened_days)
        self._holidays = ProductionCalendar(spec.holidays, spec.production_calendar) if spec.holidays else None
        self._shorten = spec.shorten_pre_holiday or spec.production_calendar
        self._provisional_from = _provisional_from(self._holidays, self.zone) if spec.production_calendar else None
        self._years: dict[int, list[list[tuple[int, int]]]] = {}
        self._starts: list[int] = []
        self._lo_year = self._hi_year = self._lo_us = self._hi_us = 0

    # -- days -------------------------------------------------------------------
    def is_holiday(self, day: dt.date) -> bool:
        """Whether the holiday country takes ``day`` off (a holiday, a transferred or moved day off)."""
        return self._holidays is not None and self._holidays.is_day_off(day)

    def is_shortened(self, day: dt.date) -> bool:
        """Whether ``day``, if worked, ends an hour early (listed, or before a holiday: art. 95)."""
        return day in self._short or (self._shorten and self._holidays is not None
                                      and self._holidays.is_shortened(day))

    @property
    def published_through(self) -> int | None:
        """The last year whose transfers the production calendar's data publishes; None: not one."""
        return self._holidays.published_through if self._provisional_from is not None else None  # type: ignore[union-attr]

    def is_provisional_us(self, us: int) -> bool:
        """Whether an instant lies in a year whose transfers are not yet published (computed by law)."""
        return self._provisional_from is not None and us >= self._provisional_from

    def day_hours(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        """The working intervals of a local date as minute-of-day pairs (empty: a day off)."""
        if day in self._off:
            return ()
        weekly = self._week[day.weekday()]
        if day in self._extra or self._is_weekend_workday(day):
            hours = weekly or self._workday
        elif self.is_holiday(day):
            return ()
        else:
            hours = weekly
        if hours and self.is_shortened(day):
            start, end = hours[-1]
            hours = hours[:-1] + ((start, max(start, end - 60)),)
        return hours

    def _is_weekend_workday(self, day: dt.date) -> bool:
        return self._holidays is not None and self._holidays.is_working_weekend(day)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` has any working time."""
        return any(start < end for start, end in self.day_hours(day))

    def working_days(self, first: dt.date, last: dt.date) -> int:
        """How many working days lie in ``first..last`` inclusive."""
        count = (last - first).days + 1
        return sum(self.is_working_day(first + dt.timedelta(days=i)) for i in range(count))

    # -- precomputed intervals ------------------------------------------------------
    def _year_intervals(self, year: int) -> list[list[tuple[int, int]]]:
        """Per working day of ``year``, its working intervals in UTC microseconds."""
        if year not in self._years:
            days, day = [], dt.date(year, 1, 1)
            while day.year == year:
                midnight = dt.datetime.combine(day, dt.time(), self.zone)
                spans = [(self._local_us(midnight, s), self._local_us(midnight, e)) for s, e in self.day_hours(day)]
                spans = [(s, e) for s, e in spans if s < e]
                if spans:
                    days.append(spans)
                day += dt.timedelta(days=1)
            self._years[year] = days
        return self._years[year]

    @staticmethod
    def _local_us(midnight: dt.datetime, minutes: int) -> int:
        # Aware + timedelta is wall-clock arithmetic: 09:00 stays 09:00 across DST.
        return int((midnight + dt.timedelta(minutes=minutes)).timestamp()) * 1_000_000

    def _cover(self, lo_year: int, hi_year: int) -> None:
        """Rebuild the interval arrays so they span the years ``lo_year..hi_year``."""
        if hi_year - lo_year > _MAX_YEARS:
            raise ValueError("business duration runs beyond the calendar's horizon")
        starts, ends, cum, day_first, total = [], [], [], [], 0
        for year in range(lo_year, hi_year + 1):
            for spans in self._year_intervals(year):
                day_first.append(len(starts))
                for s, e in spans:
                    s = max(s, ends[-1]) if ends else s  # a DST fold must not overlap
                    starts.append(s), ends.append(max(s, e)), cum.append(total)
                    total += max(s, e) - s
        self._starts, self._ends, self._cum = starts, ends, cum
        self._cum_end = [c + e - s for c, s, e in zip(cum, starts, ends, strict=True)]
        self._day_start = [cum[i] for i in day_first]
        self._day_end = [self._cum_end[j - 1] for j in day_first[1:]] + [total]
        self._total = total
        self._lo_year, self._hi_year = lo_year, hi_year
        self._lo_us = to_us(dt.datetime(lo_year, 1, 1, tzinfo=self.zone))
        self._hi_us = to_us(dt.datetime(hi_year + 1, 1, 1, tzinfo=self.zone))

    def _ensure(self, us: int) -> None:
        if self._lo_us <= us < self._hi_us:
            return
        year = from_us(us).astimezone(self.zone).year
        if not self._starts:
            self._cover(year - 1, year + 1)
        else:
            self._cover(min(self._lo_year, year - 1), max(self._hi_year, year + 1))

    def _grow(self, forward: bool) -> None:
        self._cover(self._lo_year - (not forward) * 2, self._hi_year + forward * 2)

    def _pos(self, us: int) -> int:
        """Working microseconds from the start of the covered range up to ``us``."""
        i = bisect_right(self._starts, us) - 1
        if i < 0:
            return 0
        end = self._ends[i]
        return self._cum[i] + (end if us > end else us) - self._starts[i]

    def _earliest(self, p: int) -> int:
        """The earliest instant whose working position is ``p`` (0 < p <= total)."""
        j = bisect_left(self._cum_end, p)
        return self._starts[j] + p - self._cum[j]

    def _latest(self, p: int) -> int:
        """The latest instant whose working position is ``p`` (0 <= p < total)."""
        j = bisect_right(self._cum, p) - 1
        return self._starts[j] + p - self._cum[j]

    # -- operations -------------------------------------------------------------------
    def add(self, instant: dt.datetime, seconds: float) -> dt.datetime:
        """The instant ``seconds`` of working time after ``instant`` (before, if negative)."""
        if not seconds:
            return instant
        return from_us(self.add_us(to_us(instant), round(seconds * 1_000_000)))

    def add_us(self, us: int, delta: int) -> int:
        """``add`` on epoch microseconds: ``delta`` working microseconds after ``us``."""
        if not delta:
            return us
        self._ensure(us)
        while True:
            target = self._pos(us) + delta
            if delta > 0 and target > self._total:
                self._grow(forward=True)
            elif delta < 0 and target < 0:
                self._grow(forward=False)
            else:
                return self._earliest(target) if delta > 0 else self._latest(target)

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        return self.between_us(to_us(start), to_us(end)) / 1_000_000

    def between_us(self, a: int, b: int) -> int:
        """Working microseconds from ``a`` to ``b`` (epoch microseconds)."""
        self._ensure(a)
        self._ensure(b)
        return self._pos(b) - self._pos(a)

    def is_working_time(self, instant: dt.datetime) -> bool:
        """Whether ``instant`` lies inside a working interval (end excluded)."""
        us = to_us(instant)
        self._ensure(us)
        i = bisect_right(self._starts, us) - 1
        return i >= 0 and us < self._ends[i]

    def next_working_instant(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` itself inside working time, else the start of the next working interval."""
        if self.is_working_time(instant):
            return instant
        us = to_us(instant)
        while (j := bisect_right(self._starts, us)) >= len(self._starts):
            self._grow(forward=True)
        return from_us(self._starts[j])

    def add_business_days(self, instant: dt.datetime, days: int) -> dt.datetime:
        """Same working offset ``days`` working days later (earlier if negative); see module doc."""
        return from_us(self.add_business_days_us(to_us(instant), days)) if days else instant

    def add_business_days_us(self, us: int, days: int) -> int:
        """``add_business_days`` on epoch microseconds."""
        if not days:
            return us
        self._ensure(us)
        while True:
            p = self._pos(us)
            k = bisect_right(self._day_start, p) - 1
            m = k + days
            if k < 0 or m < 1:  # day m-1 must exist so the landing point is unambiguous
                self._grow(forward=False)
            elif m >= len(self._day_start) or k >= len(self._day_start) - 1 and p >= self._day_end[k]:
                self._grow(forward=True)
            else:
                length = self._day_end[m] - self._day_start[m]
                return self._earliest(self._day_start[m] + min(p - self._day_start[k], length))

    def add_calendar_days(self, instant: dt.datetime, days: int) -> dt.datetime:
        """``days`` calendar days later in local wall time (a day across DST is 23 or 25 h)."""
        local = instant.astimezone(self.zone) + dt.timedelta(days=days)
        return local.astimezone(dt.UTC)
