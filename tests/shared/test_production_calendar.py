"""The official Russian production calendar in the presets that count Russian holidays (issue #11 item 1)."""

import datetime as dt
import re
import tomllib
from pathlib import Path

import holidays
import pytest

from helpdesk_shared.policies import calendar_of

from tests.shared.histories import POLICIES, msk

RUSSIAN = ("medis", "keysystems", "endocs", "imc")
MEDIS = calendar_of(POLICIES["medis"])  # Mon-Fri 09:00-18:00 Moscow: 540..1080 minutes
ENDOCS = calendar_of(POLICIES["endocs"])  # Mon-Fri 10:00-19:00 Moscow


def days_of(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("policy", RUSSIAN)
def test_production_calendar_the_2025_shortened_days_are_03_07_04_30_06_11_and_11_01(policy):
    calendar = calendar_of(POLICIES[policy])
    full = max(end - start for day in days_of(2025) for start, end in calendar.day_hours(day))
    short = [day for day in days_of(2025) if calendar.is_working_day(day)
             and sum(end - start for start, end in calendar.day_hours(day)) == full - 60]
    assert short == [dt.date(2025, 3, 7), dt.date(2025, 4, 30), dt.date(2025, 6, 11), dt.date(2025, 11, 1)]


def test_production_calendar_a_working_saturday_before_a_holiday_ends_an_hour_early():
    # Saturday 2025-11-01 works for Monday 3 November, the day before National Unity Day.
    assert MEDIS.day_hours(dt.date(2025, 11, 1)) == ((540, 1020),)
    assert ENDOCS.day_hours(dt.date(2025, 11, 1)) == ((600, 1080),)
    assert MEDIS.add(msk(2025, 11, 1, 16, 30), 3600) == msk(2025, 11, 5, 9, 30)  # 17:00 is the end


def test_production_calendar_the_day_before_a_holiday_is_counted_to_the_minute():
    # Friday 2025-03-07 ends at 17:00: from 16:00, two working hours end on Monday 10 March at 10:00.
    assert MEDIS.add(msk(2025, 3, 7, 16, 0), 2 * 3600) == msk(2025, 3, 10, 10, 0)
    assert MEDIS.between(msk(2025, 3, 7, 9, 0), msk(2025, 3, 7, 18, 0)) == 8 * 3600


def test_production_calendar_no_shortening_before_a_day_off_that_is_only_transferred():
    # 2025-05-08 and 2025-12-31 are days off transferred by decree, not holidays.
    assert MEDIS.day_hours(dt.date(2025, 5, 7)) == ((540, 1080),)
    assert MEDIS.day_hours(dt.date(2025, 12, 30)) == ((540, 1080),)
    assert not MEDIS.is_working_day(dt.date(2025, 5, 8))


def test_production_calendar_a_friday_before_a_weekend_holiday_is_not_shortened():
    # 8 March 2026 is a Sunday: the Friday before it does not immediately precede it.
    assert MEDIS.day_hours(dt.date(2026, 3, 6)) == ((540, 1080),)


def test_production_calendar_2014_03_10_was_a_day_off_by_law():
    # 8 March 2014 fell on a Saturday; no decree moved it, so the law did (art. 112).
    assert not MEDIS.is_working_day(dt.date(2014, 3, 10))
    assert MEDIS.is_working_day(dt.date(2014, 3, 11))


def test_production_calendar_2028_11_06_will_be_a_day_off_by_law():
    # 4 November 2028 is a Saturday and 2028's transfers are not published yet.
    assert not MEDIS.is_working_day(dt.date(2028, 11, 6))
    assert MEDIS.day_hours(dt.date(2028, 11, 3)) == ((540, 1020),)  # the Friday before the holiday


def test_production_calendar_never_invents_the_january_moves_only_a_decree_makes():
    # 1, 2 and 8 January 2028 fall on weekends; only a decree could move them.
    assert MEDIS.is_working_day(dt.date(2028, 1, 10))
    assert MEDIS.working_days(dt.date(2028, 1, 1), dt.date(2028, 1, 14)) == 5  # 10..14 January


def test_production_calendar_a_holiday_a_decree_moved_elsewhere_is_not_moved_again():
    # 23 February 2025 (Sunday) was moved by decree to 8 May; 24 February was a working day.
    assert MEDIS.is_working_day(dt.date(2025, 2, 24))
    # 8 March 2026 (Sunday): the data already gives Monday 9 March; Tuesday works.
    assert not MEDIS.is_working_day(dt.date(2026, 3, 9))
    assert MEDIS.is_working_day(dt.date(2026, 3, 10))


def test_production_calendar_telemed_works_daily():
    telemed = calendar_of(POLICIES["telemed"])
    assert telemed.day_hours(dt.date(2025, 3, 8)) == ((480, 1200),)
    assert telemed.day_hours(dt.date(2025, 3, 7)) == ((480, 1200),)


def _floor() -> tuple[int, ...]:
    project = tomllib.loads((Path(__file__).parents[2] / "shared" / "pyproject.toml").read_text())
    [spec] = [d for d in project["project"]["dependencies"] if d.startswith("holidays")]
    return tuple(int(p) for p in re.search(r">=([\d.]+)", spec).group(1).split("."))


# The production calendars' working days per year, as the government publishes them.
OFFICIAL_WORKING_DAYS = {2015: 247, 2016: 247, 2017: 247, 2018: 247, 2019: 247, 2020: 248, 2021: 247,
                         2022: 247, 2023: 247, 2024: 248, 2025: 247, 2026: 247}


def test_production_calendar_the_holidays_data_is_right():
    """Older `holidays` releases make weekend holidays working days (0.80: 2025 had 251 working days)
    or lack the 2026 transfers (0.106); the floor in shared/pyproject.toml keeps them out."""
    installed = tuple(int(p) for p in holidays.__version__.split(".")[:2])
    assert installed >= _floor() >= (0, 107)
    counts = {year: MEDIS.working_days(dt.date(year, 1, 1), dt.date(year, 12, 31)) for year in OFFICIAL_WORKING_DAYS}
    assert counts == OFFICIAL_WORKING_DAYS
    assert not MEDIS.is_working_day(dt.date(2025, 1, 4))  # a Saturday holiday, never a working Saturday
