"""The one clock switch (STYLE habit 5): ``clock_from(settings)`` picks each service's clock."""

from __future__ import annotations

import datetime as dt

import pytest
from nats.js.errors import BucketNotFoundError

from helpdesk_intake.settings import IntakeSettings
from helpdesk_portal.settings import PortalSettings
from helpdesk_query.settings import QuerySettings
from helpdesk_sla.settings import SlaSettings

from helpdesk_shared.clock import SystemClock, clock_from
from helpdesk_shared.clock_sync import BUCKET, SharedClock, followed_clock
from helpdesk_shared.connections import connect_nats
from helpdesk_shared.settings import CommonSettings, from_env
from tests.support.waiting import async_wait_until

SERVICES = [IntakeSettings, SlaSettings, QuerySettings, PortalSettings]
NOWHERE = "nats://127.0.0.1:1"  # nothing listens: a clock that connected would fail
START = dt.datetime(2031, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("kind", SERVICES)
@pytest.mark.parametrize("environ", [{}, {"HELPDESK_CLOCK": "system"}])
def test_every_service_reads_the_wall_clock_unless_told_simulated(kind: type[CommonSettings],
                                                                   environ: dict[str, str]) -> None:
    clock = clock_from(from_env(kind, environ))
    assert isinstance(clock, SystemClock)
    assert clock.simulated is False and clock.movable is None  # tokens on the wall, no admin endpoint
    assert abs(clock.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("kind", SERVICES)
def test_every_service_takes_the_shared_test_clock_with_helpdesk_clock_simulated(
        kind: type[CommonSettings]) -> None:
    clock = clock_from(from_env(kind, {"HELPDESK_CLOCK": "simulated", "HELPDESK_STREAM_REPLICAS": "3"}))
    assert isinstance(clock, SharedClock)
    assert clock.simulated is True and clock.movable is clock  # an admin moves it, the SLA reports to it
    assert clock._replicas == 3  # its bucket gets as many copies as the stream


async def test_the_wall_clock_follows_nothing_and_the_test_clock_follows_the_shared_instant(
        nats_url: str) -> None:
    nc = await connect_nats(nats_url, "probe")
    try:
        wall = clock_from(CommonSettings(nats_url=nats_url))
        await wall.follow(nc)
        await wall.close()
        with pytest.raises(BucketNotFoundError):
            await nc.jetstream().key_value(BUCKET)  # the wall clock made no bucket

        mover = clock_from(CommonSettings(nats_url=nats_url, clock="simulated"))
        follower = clock_from(CommonSettings(nats_url=nats_url, clock="simulated"))
        await mover.follow(nc)
        await follower.follow(nc)
        admin = mover.movable
        assert admin is not None
        later = await admin.move_to((await admin.shared_now()) + dt.timedelta(days=3))
        assert await async_wait_until(lambda: follower.now() == later)
        await mover.close()
        await follower.close()
    finally:
        await nc.close()


async def test_a_reading_service_follows_the_test_clock_over_its_own_connection(nats_url: str) -> None:
    async with followed_clock(CommonSettings(nats_url=NOWHERE), "probe") as wall:
        assert isinstance(wall, SystemClock)  # no connection opened: NOWHERE would have refused it
    simulated = CommonSettings(nats_url=nats_url, clock="simulated")
    async with followed_clock(simulated, "mover") as mover, followed_clock(simulated, "probe") as clock:
        assert isinstance(mover, SharedClock)
        await mover.move_to(START + dt.timedelta(days=3650))  # past the wall time the first one set
        assert await async_wait_until(lambda: clock.now() == START + dt.timedelta(days=3650))
