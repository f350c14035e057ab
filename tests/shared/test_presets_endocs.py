"""EnDocs preset (END rules)."""

import datetime as dt

from helpdesk_shared.policies import billed_minutes, calendar_of

from tests.shared.histories import POLICIES, msk

ENDOCS = POLICIES["endocs"]
CALENDAR = calendar_of(ENDOCS)


def test_end1_working_time_is_weekdays_1000_to_1900_moscow():
    assert CALENDAR.between(msk(2025, 11, 10, 9), msk(2025, 11, 10, 20)) == 9 * 3600  # evening, morning
    assert CALENDAR.between(msk(2025, 11, 14, 18), msk(2025, 11, 17, 11)) == 2 * 3600  # weekend


def test_end1_official_holidays_and_transferred_days_off_are_not_worked():
    assert CALENDAR.between(msk(2025, 12, 30, 19), msk(2026, 1, 12, 10)) == 0
    assert not CALENDAR.is_working_day(dt.date(2025, 11, 3)) and not CALENDAR.is_working_day(dt.date(2025, 11, 4))


def test_end1_a_transferred_working_saturday_is_worked():
    assert CALENDAR.add(msk(2025, 10, 31, 18), 2 * 3600) == msk(2025, 11, 1, 11)


def test_end1_a_request_filed_outside_working_time_is_handled_from_the_next_working_day():
    assert CALENDAR.next_working_instant(msk(2025, 10, 31, 20)) == msk(2025, 11, 1, 10)
    assert CALENDAR.next_working_instant(msk(2025, 11, 1, 19)) == msk(2025, 11, 5, 10)


def test_end6_paid_time_is_rounded_up_to_half_hours_with_a_thirty_minute_minimum():
    assert [billed_minutes(ENDOCS, m) for m in (1, 30, 31, 60, 61, 95)] == [30, 30, 60, 60, 90, 120]
    assert billed_minutes(ENDOCS, 45, billable=False) == 0
    assert billed_minutes(POLICIES["medis"], 31) == 31  # presets without END-6 bill as logged
