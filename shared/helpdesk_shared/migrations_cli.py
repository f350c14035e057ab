"""``helpdesk-migrate [service ...]``: apply every installed service's schema migrations.

Run once per release, before the services start, with the database owner's URL
(``HELPDESK_MIGRATION_DATABASE_URL``, else ``HELPDESK_DATABASE_URL``): ``make up`` runs it
first, Kubernetes as a Job. Services are found through the ``helpdesk.migrations``
entry-point group, so the command knows only what is installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from helpdesk_shared.migrations import Migrations, migrate
from helpdesk_shared.settings import CommonSettings, from_env

GROUP = "helpdesk.migrations"
log = logging.getLogger("helpdesk.migrate")


class MigrateSettings(CommonSettings, kw_only=True):
    """Whom to connect as (the owner) and whom to grant the rows to (the services' role)."""

    migration_database_url: str = ""
    runtime_role: str = "helpdesk_app"


def installed() -> dict[str, Migrations]:
    """Every installed service's migrations, by service name (in name order)."""
    found = {ep.name: ep.load() for ep in entry_points(group=GROUP)}
    return dict(sorted(found.items()))


def migrate_all(conninfo: str, runtime_role: str, services: list[str] | None = None) -> dict[str, list[int]]:
    """Apply the named services' migrations (all installed when None); the versions applied per service."""
    available = installed()
    unknown = sorted(set(services or ()) - set(available))
    if unknown:
        raise SystemExit(f"helpdesk-migrate: no migrations installed for {', '.join(unknown)}")
    return {name: migrate(conninfo, available[name], runtime_role)
            for name in (services or available)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="helpdesk-migrate", description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help="only these services (default: every installed one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = from_env(MigrateSettings)
    done = migrate_all(settings.migration_database_url or settings.database_url, settings.runtime_role,
                       args.services or None)
    for name, versions in done.items():
        log.info("%s: %s", name, f"applied {versions}" if versions else "up to date")
    sys.exit(0)


if __name__ == "__main__":
    main()
