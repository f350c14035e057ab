"""Telemed preset (TEL rules): its calendar and the answers intake takes from the policy."""

import datetime as dt

from helpdesk_shared.policies import calendar_of, channel_registers
from helpdesk_shared.vocabulary import Channel

from tests.shared.histories import POLICIES, msk

TELEMED = POLICIES["telemed"]


def test_tel1_support_works_daily_0800_to_2000_moscow_time():
    calendar = calendar_of(TELEMED)
    for day in (dt.date(2025, 11, 8), dt.date(2025, 11, 9), dt.date(2026, 1, 1)):  # Sat, Sun, holiday
        assert calendar.day_hours(day) == ((480, 1200),)
    assert not calendar.is_working_time(msk(2025, 11, 10, 20))
    assert calendar.is_working_time(msk(2025, 11, 10, 8))
    assert calendar.between(msk(2025, 11, 10, 19), msk(2025, 11, 11, 9)) == 2 * 3600


def test_tel5_only_chat_and_email_are_registered_requests():
    assert channel_registers(TELEMED, Channel.CHAT) and channel_registers(TELEMED, Channel.EMAIL)
    assert not any(channel_registers(TELEMED, c) for c in (Channel.PHONE, Channel.PORTAL, Channel.API))
