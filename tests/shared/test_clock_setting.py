"""``HELPDESK_CLOCK`` names one of two clocks: a misspelt one stops the service at startup."""

from __future__ import annotations

import pytest

from helpdesk_intake.settings import IntakeSettings
from helpdesk_portal.settings import PortalSettings
from helpdesk_query.settings import QuerySettings
from helpdesk_sla.settings import SlaSettings

from helpdesk_shared.settings import CommonSettings, SettingsError, from_env

SERVICES = [IntakeSettings, SlaSettings, QuerySettings, PortalSettings]


@pytest.mark.parametrize("kind", SERVICES)
@pytest.mark.parametrize("value", ["simulate", "Simulated", "wall", ""])
def test_an_unknown_clock_is_a_settings_error_not_the_wall_clock(kind: type[CommonSettings], value: str) -> None:
    with pytest.raises(SettingsError, match="clock"):
        from_env(kind, {"HELPDESK_CLOCK": value})


@pytest.mark.parametrize("value", ["system", "simulated"])
def test_the_two_clocks_are_accepted(value: str) -> None:
    assert from_env(SlaSettings, {"HELPDESK_CLOCK": value}).clock == value
