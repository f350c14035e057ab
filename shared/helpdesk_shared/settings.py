"""Settings from the environment: ``HELPDESK_*`` variables into a typed, validated struct.

Each service declares a msgspec struct of its settings; ``from_env`` fills it
from ``HELPDESK_<FIELD>`` variables, converting types, and fails with one clear
message naming every bad variable. Read once, in the service's bootstrap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

PREFIX = "HELPDESK_"
T = TypeVar("T", bound=msgspec.Struct)


class SettingsError(Exception):
    """An environment variable does not hold a valid setting."""


def from_env(kind: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build ``kind`` from ``HELPDESK_<FIELD>`` variables; unset fields keep their defaults."""
    environ = os.environ if environ is None else environ
    raw = {field: url for field, url in dev_stack_urls(environ).items() if field in kind.__struct_fields__}
    raw.update(given_values(kind.__struct_fields__, environ))
    try:
        return msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError as error:
        raise SettingsError(f"{kind.__name__}: {error} (set via {PREFIX}<FIELD>)") from None


def given_values(fields: tuple[str, ...], environ: Mapping[str, str]) -> dict[str, str]:
    """Each field's ``HELPDESK_<FIELD>``, or the content of the file ``HELPDESK_<FIELD>_FILE`` names.

    The file form keeps secrets out of the environment (a Kubernetes or Docker secret mounted
    as a file); one trailing newline is dropped. Both set is refused rather than guessed.
    """
    raw, errors = {}, []
    for field in fields:
        name = PREFIX + field.upper()
        if name + "_FILE" not in environ:
            if name in environ:
                raw[field] = environ[name]
            continue
        if name in environ:
            errors.append(f"{name} and {name}_FILE are both set; set one")
            continue
        try:
            raw[field] = Path(environ[name + "_FILE"]).read_text().removesuffix("\n").removesuffix("\r")
        except (OSError, UnicodeDecodeError) as error:
            errors.append(f"{name}_FILE: cannot read {environ[name + '_FILE']!r}: {error}")
    if errors:
        raise SettingsError("; ".join(errors))
    return raw


def dev_stack_urls(environ: Mapping[str, str]) -> dict[str, str]:
    """The embedded servers' URLs on the ports ``make up`` was told to use (``HELPDESK_PG_PORT``…).

    Without these variables the defaults below already point at ``make up``'s servers; with
    them, every command line (a service, ``helpdesk-query rebuild``, ``helpdesk-dev tail``)
    follows the same stack instead of silently reading another one on the default port.
    """
    urls = {}
    if port := environ.get(PREFIX + "PG_PORT"):
        urls["database_url"] = f"postgresql://postgres@127.0.0.1:{port}/helpdesk"
    if port := environ.get(PREFIX + "NATS_PORT"):
        urls["nats_url"] = f"nats://127.0.0.1:{port}"
    return urls


class CommonSettings(msgspec.Struct, kw_only=True):
    """What every service reads."""

    database_url: str = "postgresql://postgres@127.0.0.1:55432/helpdesk"
    nats_url: str = "nats://127.0.0.1:4222"
    admin_token: str | None = None
    # Tokens (CONTRACT §2): EdDSA, verified with the keys intake publishes; sla's static bearer.
    intake_url: str = "http://127.0.0.1:8001"
    jwks_url: str | None = None  # unset: <intake_url>/v1/auth/jwks
    jwks_refresh_seconds: float = 60.0  # a removed key stops verifying within this time
    service_token: str | None = None
    clock: Literal["system", "simulated"] = "system"  # simulated: the shared test clock (CONTRACT §6)
    bind_host: str = "127.0.0.1"
    data_dir: str = ".helpdesk"
    # The HELPDESK stream in a JetStream cluster (stream.StreamLimits): copies kept (1, 3 or 5),
    # and what it may keep (0 days: forever; -1 bytes: no limit). The same in every service.
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    stream_max_age_days: Annotated[int, msgspec.Meta(ge=0)] = 0
    stream_max_bytes: Annotated[int, msgspec.Meta(ge=-1)] = -1
    log_format: Literal["text", "json"] = "text"  # json: one object a line, with trace_id and span_id
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def verification_keys_url(self) -> str:
        """Where the token verification keys are published: intake's JWK set unless told otherwise."""
        return self.jwks_url or self.intake_url.rstrip("/") + "/v1/auth/jwks"
