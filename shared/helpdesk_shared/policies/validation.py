"""Every problem of a policy document, by field: what an admin's upload is refused with (CONTRACT §5).

msgspec stops at a document's first error; an upload should list them all. So each
top-level field (and each entry of a list field) is validated on its own, then the
whole policy once the parts are sound (for the checks that span fields).
"""

from __future__ import annotations

import tomllib
import typing
from typing import Any

import msgspec

from helpdesk_shared.policies.duration import dec_hook
from helpdesk_shared.policies.loader import _WHERE, PolicyError, parse_policy
from helpdesk_shared.policies.model import Policy

Problem = tuple[str, str]  # (field, what is wrong with it)


def policy_problems(text: str) -> list[Problem]:
    """Each ``(field, problem)`` of the TOML ``text``; empty when it is a valid policy."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [("", f"invalid TOML: {exc}")]
    fields = {f.encode_name: f for f in msgspec.structs.fields(Policy)}
    problems = [(key, "unknown field") for key in raw if key not in fields]
    problems += [(name, "required") for name, f in fields.items() if f.required and name not in raw]
    for name, value in raw.items():
        if name in fields:
            problems += _field_problems(name, fields[name].type, value)
    if problems:
        return problems
    try:
        parse_policy(text)
    except PolicyError as error:
        return [(error.field or "", error.problem.strip())]
    return []


def _field_problems(name: str, type_: Any, value: Any) -> list[Problem]:
    if typing.get_origin(type_) is list and isinstance(value, list):
        (element,) = typing.get_args(type_)
        return [p for i, item in enumerate(value) for p in _convert(f"{name}[{i}]", element, item)]
    return _convert(name, type_, value)


def _convert(name: str, type_: Any, value: Any) -> list[Problem]:
    try:
        msgspec.convert(value, type_, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _WHERE.search(message)
        if match is None:
            return [(name, message.strip())]
        path = match.group("path")
        inner = ("" if not path or path.startswith("[") else ".") + path
        return [(name + inner + (" (a key)" if match.group("key") else ""), message[: match.start()].strip())]
    return []
