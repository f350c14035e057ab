"""The environment every service reads, and the embedded servers behind it."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk_shared.web.keys import generate_key

from helpdesk_devstack.database import kept_secret
from helpdesk_devstack.nats import EmbeddedNats
from helpdesk_devstack.ports import port_open
from helpdesk_devstack.postgres import EmbeddedPostgres
from helpdesk_devstack.smtp_catcher import SmtpCatcher

DEFAULTS = {
    "HELPDESK_DATA_DIR": ".helpdesk",
    "HELPDESK_ADMIN_TOKEN": "dev-admin-token",
    "HELPDESK_CLOCK": "system",
    "HELPDESK_BIND_HOST": "127.0.0.1",
    "HELPDESK_INTAKE_PORT": "8001",
    "HELPDESK_QUERY_PORT": "8002",
    "HELPDESK_SLA_PORT": "8003",
    "HELPDESK_NOTIFY_PORT": "8004",
    "HELPDESK_PORTAL_PORT": "8005",
    "HELPDESK_PORTAL_SECURE_COOKIES": "false",  # make up serves the portal over plain http on this machine
    "HELPDESK_NATS_PORT": "4222",
    "HELPDESK_SMTP_CATCHER_PORT": "2525",
    "HELPDESK_INBOUND_SMTP_PORT": "2526",
    "HELPDESK_RELAY_METRICS_PORT": "9101",
    "HELPDESK_SMTP_METRICS_PORT": "9102",
    "HELPDESK_PROJECTOR_METRICS_PORT": "9103",
    "HELPDESK_RUN_PROJECTOR": "false",  # query's projectors run as their own process, as in production
    "HELPDESK_PG_PORT": "55432",
    "HELPDESK_WEBHOOK_ALLOW_LOOPBACK": "true",  # webhooks to a receiver on this machine, over plain http
}
HTTP_SERVICES = ("intake", "query", "sla", "notify", "portal")


class InfraError(RuntimeError):
    """The local infrastructure could not be started."""


@dataclass
class Infra:
    """What `start_infra` produced: the services' environment, a banner line per server."""

    env: dict[str, str]
    notes: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return Path(self.env["HELPDESK_DATA_DIR"])


def base_env(environ: Mapping[str, str]) -> dict[str, str]:
    """HELPDESK_* settings: the caller's where set, else the defaults; plus each service's URL."""
    given = {key: value for key, value in environ.items() if key.startswith("HELPDESK_") and value}
    env = {**DEFAULTS, **given}
    data_dir = Path(env["HELPDESK_DATA_DIR"]).absolute()
    env["HELPDESK_DATA_DIR"] = str(data_dir)
    env.setdefault("HELPDESK_SERVICE_TOKEN", kept_secret(data_dir, "service-token"))
    env.setdefault("HELPDESK_PORTAL_SECRET", kept_secret(data_dir, "portal-secret"))
    if "HELPDESK_JWT_KEYS_DIR" not in env:
        env["HELPDESK_JWT_KEYS_DIR"] = str(signing_keys(data_dir / "jwt-keys"))
    host = env["HELPDESK_BIND_HOST"]
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    for name in HTTP_SERVICES:
        env.setdefault(
            f"HELPDESK_{name.upper()}_URL", f"http://{host}:{env[f'HELPDESK_{name.upper()}_PORT']}"
        )
    return env




def signing_keys(directory: Path) -> Path:
    """intake's token signing key directory, with an Ed25519 key generated on first start."""
    if not any(directory.glob("*.pem")):
        generate_key(directory)
    return directory


def start_infra(stack: ExitStack, environ: Mapping[str, str], *, fast: bool = False) -> Infra:
    """Start PostgreSQL, NATS and the SMTP catcher unless their URLs are given.

    Everything started is registered on `stack`, which stops it in reverse order.
    """
    infra = Infra(base_env(environ))
    env, data_dir = infra.env, infra.data_dir
    if "HELPDESK_DATABASE_URL" not in env:
        port = _free(env, "HELPDESK_PG_PORT", "HELPDESK_DATABASE_URL")
        postgres = stack.enter_context(EmbeddedPostgres(data_dir / "postgres", port, fast=fast))
        env["HELPDESK_DATABASE_URL"] = postgres.url
        infra.notes.append(f"PostgreSQL  {postgres.url}  (embedded, data in {postgres.data_dir})")
    if "HELPDESK_NATS_URL" not in env:
        port = _free(env, "HELPDESK_NATS_PORT", "HELPDESK_NATS_URL")
        nats = stack.enter_context(EmbeddedNats(data_dir / "nats", port))
        env["HELPDESK_NATS_URL"] = nats.url
        infra.notes.append(f"NATS        {nats.url}  (embedded, JetStream in {nats.store_dir})")
    if "HELPDESK_SMTP_URL" not in env:
        port = _free(env, "HELPDESK_SMTP_CATCHER_PORT", "HELPDESK_SMTP_URL")
        catcher = stack.enter_context(SmtpCatcher(data_dir / "mail", port))
        env["HELPDESK_SMTP_URL"] = catcher.url
        infra.notes.append(
            f"SMTP        {catcher.url}  (catcher: every mail lands in {catcher.directory}/)"
        )
    return infra


def _free(env: Mapping[str, str], port_var: str, url_var: str) -> int:
    port = int(env[port_var])
    if port_open("127.0.0.1", port):
        raise InfraError(
            f"port {port} is already in use (is another `make up` running?). "
            f"Set {port_var} to another port, or {url_var} to use a server you run yourself."
        )
    return port
