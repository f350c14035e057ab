"""Primary analysis (IMC-5, IMC-7): what a policy may require of a ticket before it is accepted.

Under such a policy (the ``imc`` preset) ``accept`` ends primary analysis, so the
ticket must by then have a category, a priority, a responsible person and a plan —
a planned date or a release it is promised for. Each missing one is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from helpdesk_shared.workflow import analysis_missing

from helpdesk_intake.domain.base import InvalidInput

# requirement → (the field a client sets, what the message says is missing)
_FIELDS = {
    "category": ("category", "a category (error, support or improvement)"),
    "priority": ("priority", "a priority"),
    "responsible": ("responsible_id", "a responsible person"),
    "plan": ("planned_date", "a planned date or a release (PATCH planned_date or release)"),
}


class PrimaryAnalysisIncomplete(InvalidInput):
    """``accept`` ends primary analysis: what the policy requires of it must be set first (IMC-5)."""

    def __init__(self, missing: list[tuple[str, str]]) -> None:
        names = ", ".join(message for _, message in missing)
        super().__init__(f"primary analysis is incomplete (IMC-5): missing {names}", field=missing[0][0],
                         fields=[(field, f"{message} is required to accept") for field, message in missing])


def check_accept(ticket: Any, required: Iterable[str]) -> None:
    """Raise ``PrimaryAnalysisIncomplete`` naming every requirement ``ticket`` does not meet."""
    missing = [_FIELDS[r] for r in analysis_missing(required, ticket)]
    if missing:
        raise PrimaryAnalysisIncomplete(missing)
