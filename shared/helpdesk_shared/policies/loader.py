"""Reading policies from TOML: the shipped presets, then an operator's directory.

The loader takes paths; it never reads the environment. A service passes the value
of ``HELPDESK_POLICY_DIR`` (if set) as ``extra_dir``. A bad file raises
``PolicyError`` naming the file, the field and the problem.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec

from helpdesk_shared.policies.duration import dec_hook
from helpdesk_shared.policies.model import Policy

_WHERE = re.compile(r" - at `(?P<key>key` in `)?\$\.?(?P<path>[^`]*)`$")
PRESETS_DIR = Path(__file__).parent / "presets"
PRESET_IDS = ("medis", "telemed", "keysystems", "endocs", "imc")


class PolicyError(ValueError):
    """A policy file is unreadable or breaks the policy schema."""

    def __init__(self, path: Path | str, problem: str, field: str | None = None) -> None:
        self.path, self.field, self.problem = str(path), field, problem
        where = f", field {field}" if field else ""
        super().__init__(f"{path}{where}: {problem}")


class UnknownPolicy(KeyError):
    """A ticket or customer names a policy id that no loaded file defines."""


def parse_policy(text: str, source: Path | str = "<string>") -> Policy:
    """Validate one policy's TOML text; ``source`` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"invalid TOML: {exc}") from None
    try:
        return msgspec.convert(raw, Policy, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        match = _WHERE.search(str(exc))
        if match is None:
            raise PolicyError(source, str(exc)) from None
        field = match.group("path") + (" (a key)" if match.group("key") else "")
        raise PolicyError(source, str(exc)[: match.start()], field or None) from None


def load_policy(path: Path | str) -> Policy:
    """Load one policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_policy(text, path)


def load_directory(directory: Path | str) -> dict[str, Policy]:
    """Every ``*.toml`` policy in ``directory`` by id; two files with one id are an error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError(directory, "not a directory")
    policies: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy(path)
        if policy.id in policies:
            raise PolicyError(path, f"duplicate policy id {policy.id!r}", "id")
        policies[policy.id] = policy
    return policies


def load_policies(extra_dir: Path | str | None = None) -> dict[str, Policy]:
    """The presets, overridden and extended by the policies in ``extra_dir`` (same id wins)."""
    policies = load_directory(PRESETS_DIR)
    if extra_dir:
        policies.update(load_directory(extra_dir))
    return policies


def get_policy(policies: dict[str, Policy], policy_id: str) -> Policy:
    """Look a policy up by id, failing with ``UnknownPolicy``."""
    try:
        return policies[policy_id]
    except KeyError:
        raise UnknownPolicy(policy_id) from None
