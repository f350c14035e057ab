"""The official production calendar: a country's holiday data with the law's own rules on top.

The `holidays` package lists a country's holidays and, year by year, the days off the
government's decrees transfer (``special_public_holidays``: day off ← working day) and
the days it observes. The Russian Labour Code adds two rules the data does not always
carry, so they are computed here:

- art. 112: a non-working holiday that falls on a weekend moves to the next working day
  — except the January holidays (1–8 January), which only a decree moves, so the law
  never invents those; a holiday a decree already moved elsewhere is left to the decree;
- art. 95: the working day immediately before a non-working holiday is one hour shorter,
  including a working Saturday that stands in for the day off before a holiday (a day
  before a day off that is only a transferred one is not shortened).

A year is *published* when the data lists that year's transfers; later years follow the
law alone, and deadlines in them are provisional until newer data arrives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import holidays as holidays_lib

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class YearFacts:
    """One year of a production calendar, as sets of dates."""

    days_off: frozenset[dt.date]  # holidays, decree transfers, observed and law-moved days
    official: frozenset[dt.date]  # the holidays themselves (not transferred or moved days off)
    working_weekend: dict[dt.date, dt.date | None]  # working Saturday → the day off it stands in for


class ProductionCalendar:
    """A country's days off per year, with art. 112 moves when ``by_law`` is set."""

    def __init__(self, country: str, by_law: bool = False) -> None:
        self.country, self.by_law = country, by_law
        self._years: dict[int, YearFacts] = {}
        self.published_through = _last_published(holidays_lib.country_holidays(country, years=()))

    def year(self, year: int) -> YearFacts:
        """The facts of ``year``, computed once."""
        facts = self._years.get(year)
        if facts is None:
            facts = self._years[year] = self._compute(year)
        return facts

    def is_day_off(self, day: dt.date) -> bool:
        """Whether the calendar takes ``day`` off (a weekday or weekend holiday alike)."""
        return day in self.year(day.year).days_off

    def is_working_weekend(self, day: dt.date) -> bool:
        """Whether ``day`` is a weekend day a decree made a working day."""
        return day in self.year(day.year).working_weekend

    def is_shortened(self, day: dt.date) -> bool:
        """Art. 95: ``day``, if worked, ends an hour early (it precedes a non-working holiday)."""
        if self._is_official(day + _DAY):
            return True
        stands_in = self.year(day.year).working_weekend.get(day)
        return stands_in is not None and self._is_official(stands_in + _DAY)

    def is_published(self, year: int) -> bool:
        """Whether the data lists ``year``'s transfers (else only the law counts)."""
        return self.published_through is not None and year <= self.published_through

    def _is_official(self, day: dt.date) -> bool:
        return day in self.year(day.year).official

    def _compute(self, year: int) -> YearFacts:
        data = holidays_lib.country_holidays(self.country, years=year)
        transfers = _entries(_special(data, "special_public_holidays", year), 4)
        moved_to = {dt.date(year, m, d) for m, d, _, _ in transfers}
        moved_from = {dt.date(year, fm, fd): dt.date(year, m, d) for m, d, fm, fd in transfers}
        observed = {dt.date(year, m, d) for m, d, _ in _entries(_special(data, "special_public_holidays_observed", year), 3)}
        official = frozenset(day for day in data if day.year == year and day not in moved_to | observed)
        days_off = set(data)
        if self.by_law:
            days_off |= _moved_by_law(official, set(moved_from))
        working = {day: moved_from.get(day) for day in data.weekend_workdays if day.year == year}
        return YearFacts(frozenset(days_off), official, working)


def _moved_by_law(official: frozenset[dt.date], decreed: set[dt.date]) -> set[dt.date]:
    """Art. 112: each weekend holiday not moved by a decree (nor in January) → the next working weekday."""
    moved: set[dt.date] = set()
    for holiday in sorted(official):
        if holiday.weekday() < 5 or holiday in decreed or (holiday.month == 1 and holiday.day <= 8):
            continue
        day = holiday + _DAY
        while day.weekday() >= 5 or day in official or day in moved:
            day += _DAY
        moved.add(day)
    return moved


def _special(data: holidays_lib.HolidayBase, table: str, year: int) -> object:
    """One year's entries of a special table, or None where the country has no such table."""
    try:
        return getattr(data, table).get(year)
    except AttributeError:
        return None


def _entries(value: object, size: int) -> list[tuple]:
    """A year's special entries of one shape: the data holds one tuple or a tuple of tuples."""
    if not value:
        return []
    items = [value] if isinstance(value[0], int) else list(value)  # type: ignore[index]
    return [item for item in items if len(item) == size]


def _last_published(data: holidays_lib.HolidayBase) -> int | None:
    """The last year whose transfers the data lists; None for a country without transfer tables."""
    try:
        table = data.special_public_holidays
    except AttributeError:
        return None
    years = [year for year, value in table.items() if _entries(value, 4)]
    return max(years, default=None)
