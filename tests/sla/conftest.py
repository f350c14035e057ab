"""The SLA scenarios: intake (simulated clock), its relay and the SLA service as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sla.scenario import Scenario


@pytest.fixture
def start_desk(services: Any) -> Iterator[Any]:
    """``start_desk(policy, sla_processes=1, start=<instant>)`` → a running ``Scenario``."""
    made: list[Scenario] = []

    def start(policy: str, sla_processes: int = 1, start: Any = None, query: bool = False,
              env: dict[str, str] | None = None) -> Scenario:
        scenario = Scenario.start(services, policy, sla_processes=sla_processes, start=start, query=query, env=env)
        made.append(scenario)
        return scenario

    yield start
    for scenario in made:
        scenario.close()
