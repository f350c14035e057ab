"""``helpdesk-intake serve`` (the HTTP API), ``relay`` (store → NATS) and ``smtp`` (the inbound mail listener)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from helpdesk_shared.logs import setup_logging
from helpdesk_shared.settings import from_env
from helpdesk_shared.web.keys import generate_key
from helpdesk_shared.web.one_write import OneWriteHttpTools
from helpdesk_shared.web.workers import serve_workers

from helpdesk_intake.settings import IntakeSettings

T = TypeVar("T")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="helpdesk-intake")
    parser.add_argument("command", choices=["serve", "relay", "smtp"])
    args = parser.parse_args(argv)
    settings = from_env(IntakeSettings)
    process = {"serve": "intake", "relay": "intake-relay", "smtp": "intake-smtp"}[args.command]
    setup_logging(process, settings.log_format, settings.log_level)
    if args.command == "serve":
        if settings.jwt_generate_key:
            ensure_signing_key(Path(settings.keys_dir()))
        # Workers are processes: each has its own group committer; ordering still holds, as
        # every save takes the store's table lock. Forwarded headers are intake's to judge
        # (HELPDESK_TRUSTED_PROXIES), not uvicorn's: it would believe any local peer.
        # One socket write per response (helpdesk_shared/web/one_write.py), not uvicorn's two.
        # A worker that fails to start stops the server with exit code 3 (web/workers.py).
        serve_workers("helpdesk_intake.bootstrap:create_app", settings.workers, factory=True,
                      host=settings.bind_host, port=settings.intake_port, log_level="warning",
                      access_log=False, timeout_graceful_shutdown=10, proxy_headers=False, http=OneWriteHttpTools)
    elif args.command == "relay":
        from helpdesk_intake.bootstrap import run_relay

        run_async(run_relay(settings))
    else:
        from helpdesk_intake.bootstrap import run_smtp

        asyncio.run(run_smtp(settings))


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``main`` on uvloop, as uvicorn runs the HTTP workers: the relay spends much of its CPU in the event
    loop (a NATS publish and its ack, a LISTEN wake-up, an async PostgreSQL read per batch)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def ensure_signing_key(directory: Path) -> None:
    """Before the workers start, so that they all find the same key (HELPDESK_JWT_GENERATE_KEY)."""
    if not any(directory.glob("*.pem")):
        logging.getLogger("helpdesk.intake").warning("generated token signing key %s in %s (development only)",
                                                     generate_key(directory), directory)


if __name__ == "__main__":
    main()
