"""``helpdesk-portal serve``."""

from __future__ import annotations

import argparse

import uvicorn

from helpdesk_shared.logs import setup_logging
from helpdesk_shared.settings import from_env

from helpdesk_portal.settings import PortalSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="helpdesk-portal")
    parser.add_argument("command", choices=["serve"])
    parser.parse_args(argv)
    settings = from_env(PortalSettings)
    setup_logging("portal", settings.log_format, settings.log_level)
    from helpdesk_portal.bootstrap import create_app

    uvicorn.run(create_app(settings), host=settings.bind_host, port=settings.portal_port,
                log_level="warning", access_log=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
