"""``helpdesk-query serve`` (API + projector), ``project`` (projector only), ``rebuild`` and ``checksum``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from helpdesk_shared.logs import setup_logging
from helpdesk_shared.migrations import MissingPrivilege, SchemaNotMigrated
from helpdesk_shared.settings import from_env

from helpdesk_query.settings import QuerySettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="helpdesk-query")
    parser.add_argument("command", choices=["serve", "project", "rebuild", "checksum"])
    parser.add_argument("--no-progress", action="store_true", help="rebuild without a progress bar")
    args = parser.parse_args(argv)
    settings = from_env(QuerySettings)
    process = "query" if args.command == "serve" else f"query-{args.command}"
    setup_logging(process, settings.log_format, settings.log_level)
    if args.command == "serve":
        from helpdesk_query.bootstrap import create_app

        uvicorn.run(create_app(settings), host=settings.bind_host, port=settings.query_port,
                    log_level="warning", access_log=False, timeout_graceful_shutdown=10)
    elif args.command == "project":
        from helpdesk_query.bootstrap import run_projector

        asyncio.run(run_projector(settings))
    elif args.command == "rebuild":
        from helpdesk_query.bootstrap import run_rebuild

        try:
            done = asyncio.run(run_rebuild(settings, progress=not args.no_progress))
        except (MissingPrivilege, SchemaNotMigrated) as error:
            sys.exit(f"helpdesk-query rebuild: {error}")
        print(f"rebuilt {done.new} (was {done.old}): {done.events} events up to position "
              f"{done.position} in {done.total_seconds:.2f} s")
    else:
        from helpdesk_query.bootstrap import checksum

        print(asyncio.run(checksum(settings)))


if __name__ == "__main__":
    main()
