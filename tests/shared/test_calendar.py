"""Laws of the business calendar (hypothesis) and known facts of the Russian calendar."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_shared.calendar import BusinessCalendar, CalendarSpec, WeekHours

UTC = dt.UTC
MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def week(hours: list[str], days=WEEKDAYS) -> WeekHours:
    return WeekHours(**{day: hours for day in days})


RU = BusinessCalendar(CalendarSpec(timezone="Europe/Moscow", holidays="RU", hours=week(["10:00-19:00"])))
BERLIN_LUNCH = BusinessCalendar(CalendarSpec(timezone="Europe/Berlin", holidays="DE",
                                             hours=week(["01:30-02:30", "09:00-13:00", "14:00-18:00"])))
BERLIN_24X7 = BusinessCalendar(CalendarSpec(
    timezone="Europe/Berlin", hours=week(["00:00-24:00"], ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))))
CALENDARS = st.sampled_from([RU, BERLIN_LUNCH, BERLIN_24X7])
instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 6, 30)).map(
    lambda t: t.replace(tzinfo=UTC))
durations = st.integers(min_value=1, max_value=60 * 24 * 3600)


@given(CALENDARS, instants, durations, durations)
def test_adding_is_monotonic(calendar, t, a, b):
    assert calendar.add(t, min(a, b)) <= calendar.add(t, max(a, b))


@given(CALENDARS, instants, durations, durations)
def test_adding_is_additive(calendar, t, a, b):
    assert calendar.add(calendar.add(t, a), b) == calendar.add(t, a + b)


@given(CALENDARS, instants, durations)
def test_between_measures_what_add_added(calendar, t, d):
    assert calendar.between(t, calendar.add(t, d)) == d


@given(CALENDARS, instants, durations)
def test_subtracting_undoes_adding(calendar, t, d):
    assert calendar.between(calendar.add(t, -d), t) == d


@given(CALENDARS, instants, instants)
def test_nothing_counts_outside_working_time(calendar, a, b):
    a, b = min(a, b), max(a, b)
    assert 0 <= calendar.between(a, b) <= (b - a).total_seconds()
    if not calendar.is_working_time(a):
        assert calendar.between(a, calendar.next_working_instant(a)) == 0


@given(CALENDARS, instants, durations)
def test_a_sum_lands_in_working_time_or_at_its_end(calendar, t, d):
    landed = calendar.add(t, d)
    assert calendar.is_working_time(landed) or calendar.is_working_time(landed - dt.timedelta(microseconds=1))


@given(instants, st.integers(min_value=1, max_value=40))
def test_business_days_keep_the_working_offset(t, n):
    due = RU.add_business_days(t, n).astimezone(MSK)
    start = RU.next_working_instant(t).astimezone(MSK)
    if start.time() == dt.time(10):  # nothing of the day used yet: due at the n-th day's close
        assert due.time() == dt.time(19)
        assert RU.working_days(start.date(), due.date()) == n
    else:
        assert due.time() == start.time()
        assert RU.working_days(start.date() + dt.timedelta(days=1), due.date()) == n
    assert RU.between(t, due) == n * 9 * 3600  # every RU day here is 9 working hours long


@settings(max_examples=30)
@given(st.integers(min_value=0, max_value=23))
def test_round_the_clock_counts_real_hours_across_dst(hour):
    for day in (dt.date(2025, 3, 30), dt.date(2025, 10, 26)):  # Berlin springs forward, falls back
        start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(hour), BERLIN).astimezone(UTC)
        end = start + dt.timedelta(hours=48)
        assert BERLIN_24X7.between(start, end) == 48 * 3600


def test_working_hours_stay_on_the_wall_clock_across_dst():
    friday = dt.datetime(2025, 3, 28, 9, 0, tzinfo=BERLIN)
    monday = BERLIN_LUNCH.add_business_days(dt.datetime(2025, 3, 28, 10, 0, tzinfo=BERLIN), 1)
    assert monday.astimezone(BERLIN) == dt.datetime(2025, 3, 31, 10, 0, tzinfo=BERLIN)
    assert BERLIN_LUNCH.add(friday, 8 * 3600).astimezone(BERLIN) == dt.datetime(2025, 3, 28, 18, 0, tzinfo=BERLIN)
    # 01:30-02:30 does not exist on 2025-03-30 (a Sunday) nor matter; on Monday it is an hour.
    assert BERLIN_LUNCH.between(dt.datetime(2025, 3, 31, 0, tzinfo=BERLIN),
                                dt.datetime(2025, 3, 31, 3, tzinfo=BERLIN)) == 3600


def test_saturday_2025_11_01_was_a_russian_working_day():
    assert RU.is_working_day(dt.date(2025, 11, 1))
    assert RU.day_hours(dt.date(2025, 11, 1)) == ((600, 1140),)


def test_2025_11_04_and_2026_01_09_were_days_off():
    assert not RU.is_working_day(dt.date(2025, 11, 4))
    assert not RU.is_working_day(dt.date(2025, 11, 3))  # transferred from Saturday 1 November
    assert not RU.is_working_day(dt.date(2026, 1, 9))


def test_may_2025_had_18_working_days():
    assert RU.working_days(dt.date(2025, 5, 1), dt.date(2025, 5, 31)) == 18


def test_new_year_holidays_count_nothing():
    assert RU.between(dt.datetime(2025, 12, 30, 19, tzinfo=MSK), dt.datetime(2026, 1, 12, 10, tzinfo=MSK)) == 0


def test_policy_extra_days_and_shortened_pre_holiday_days():
    spec = CalendarSpec(timezone="Europe/Moscow", holidays="RU", hours=week(["09:00-18:00"]),
                        extra_days_off=[dt.date(2025, 11, 5)], extra_working_days=[dt.date(2025, 11, 8)],
                        shorten_pre_holiday=True)
    calendar = BusinessCalendar(spec)
    assert not calendar.is_working_day(dt.date(2025, 11, 5))
    assert calendar.day_hours(dt.date(2025, 11, 8)) == ((540, 1080),)
    assert calendar.day_hours(dt.date(2025, 6, 11)) == ((540, 1020),)  # before Russia Day


def test_filed_on_a_weekend_one_business_day_is_the_next_working_days_close():
    saturday = dt.datetime(2025, 11, 8, 12, tzinfo=MSK)
    assert RU.add_business_days(saturday, 1).astimezone(MSK) == dt.datetime(2025, 11, 10, 19, tzinfo=MSK)
    assert RU.next_working_instant(saturday).astimezone(MSK) == dt.datetime(2025, 11, 10, 10, tzinfo=MSK)


def test_one_addition_far_ahead_extends_the_precomputed_years():
    assert RU.add(dt.datetime(2024, 1, 10, tzinfo=UTC), 8 * 9 * 3600 * 250).year >= 2032
