"""`helpdesk-dev up` runs everything; `infra` only PostgreSQL, NATS and mail; `tail` prints events."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from contextlib import ExitStack

import psycopg

from helpdesk_devstack.database import prepare_database
from helpdesk_devstack.infra import InfraError, start_infra
from helpdesk_devstack.up import up


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="helpdesk-dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="infrastructure and all services, in the foreground")
    commands.add_parser("infra", help="only the infrastructure; prints the services' environment")
    tail = commands.add_parser("tail", help="print CloudEvents from the HELPDESK stream")
    tail.add_argument("subject", nargs="?", default="helpdesk.>")
    tail.add_argument("--all", action="store_true", help="from the first event, not just new ones")
    tail.add_argument("--limit", type=int, help="stop after this many events")
    args = parser.parse_args(argv)
    if args.command == "tail":
        from helpdesk_devstack.tail import run

        sys.exit(run(args.subject, args.all, args.limit))
    sys.exit(up() if args.command == "up" else infra())


def infra() -> int:
    """Run the infrastructure alone, e.g. to start one service by hand under a debugger."""
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with ExitStack() as stack:
        try:
            started = start_infra(stack, os.environ)
            prepare_database(started.env)
        except (InfraError, RuntimeError, FileNotFoundError, psycopg.Error) as error:
            print(f"could not start the infrastructure: {error}", file=sys.stderr)
            return 1
        for note in started.notes:
            print(f"# {note}")
        for key, value in sorted(started.env.items()):
            print(f"export {key}={shlex.quote(value)}")
        print("# Ctrl-C stops it.", flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    main()
