"""CARD-10: the product is built on the mandated libraries, declared where each is used."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["shared", "services/intake", "services/sla", "services/notify", "services/query"]
RUNTIME = {"nats-py", "msgspec", "eventsourcing", "psycopg", "litestar", "holidays", "opentelemetry-sdk"}
TESTING = {"testcontainers", "pytest"}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", line.strip(), maxsplit=1)[0].lower() for line in requirements
            if line.strip() and not line.lstrip().startswith(("#", "-"))}


def test_card10_every_mandated_runtime_library_is_a_declared_dependency() -> None:
    declared = set().union(*(_names(tomllib.loads((ROOT / p / "pyproject.toml").read_text())["project"]["dependencies"])
                             for p in PACKAGES))
    assert RUNTIME <= declared, f"missing: {RUNTIME - declared}"


def test_card10_the_test_suite_runs_on_pytest_and_testcontainers() -> None:
    declared = _names((ROOT / "requirements-dev.txt").read_text().splitlines())
    assert TESTING <= declared, f"missing: {TESTING - declared}"
