"""``helpdesk-query serve`` (API, + projector unless HELPDESK_RUN_PROJECTOR=false), ``project`` (the
projectors only), ``rebuild`` and ``checksum``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from types import FrameType

import uvicorn
import uvloop

from helpdesk_shared.heap import freeze_start_up_heap
from helpdesk_shared.logs import setup_logging
from helpdesk_shared.migrations import MissingPrivilege, SchemaNotMigrated
from helpdesk_shared.settings import from_env
from helpdesk_shared.web.one_write import OneWriteHttpTools

from helpdesk_query.settings import QuerySettings


class StreamClosingServer(uvicorn.Server):
    """uvicorn, ending the open event streams as soon as it is told to stop.

    Otherwise the server would wait for those endless responses until its graceful timeout.
    """

    def __init__(self, config: uvicorn.Config, close_streams: Callable[[], None]) -> None:
        super().__init__(config)
        self._close_streams = close_streams

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing is streaming
            asyncio.get_running_loop().call_soon_threadsafe(self._close_streams)
        super().handle_exit(sig, frame)


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

        app = create_app(settings)
        app.on_startup.append(freeze_start_up_heap)  # once the lifespan has opened the pool and the clients
        # One socket write per response (helpdesk_shared/web/one_write.py), not uvicorn's two, as intake.
        config = uvicorn.Config(app, host=settings.bind_host, port=settings.query_port, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=10, http=OneWriteHttpTools)
        StreamClosingServer(config, app.state.close_streams).run()
    elif args.command == "project":
        from helpdesk_query.bootstrap import run_projector

        # on uvloop, as uvicorn runs serve: at the live edge much of a batch's CPU is the event loop's
        # (a reader added and removed per PostgreSQL wait, a timer per NATS fetch)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run_projector(settings))
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
