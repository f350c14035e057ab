"""Policy documents for tests: one small valid TOML policy that each test varies where it needs to."""

from __future__ import annotations

from collections.abc import Sequence

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def policy_document(policy_id: str, resolution: str = "3bd", *, name: str | None = None, settings: str = "",
                    timezone: str = "Europe/Moscow", holidays: str | None = None,
                    target_rules: Sequence[str] = (), tables: str = "") -> str:
    """Working days 09:00-18:00 in `timezone` and one resolution target; `settings` are extra top-level
    lines (before the tables), `tables` extra tables after the target (transitions, deferral reasons)."""
    header = [f'id = "{policy_id}"', f'name = "{name if name is not None else f"Contract {policy_id}"}"']
    calendar = ["[calendar]", f'timezone = "{timezone}"'] + ([f'holidays = "{holidays}"'] if holidays else [])
    hours = ["[calendar.hours]"] + [f'{day} = ["09:00-18:00"]' for day in WEEKDAYS]
    target = ["[[targets]]"] + ([f"rules = {list(target_rules)!r}".replace("'", '"')] if target_rules else []) \
        + [f'resolution = "{resolution}"']
    blocks = ["\n".join(header) + ("\n" + settings.strip() if settings.strip() else ""),
              "\n".join(calendar), "\n".join(hours), "\n".join(target)]
    return "\n\n".join(blocks) + "\n" + (f"\n{tables.strip()}\n" if tables.strip() else "")
