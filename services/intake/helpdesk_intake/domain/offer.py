"""What a ticket's policy offers, checked when a ticket is opened or triaged.

MED-3/IMC-1 (services from the catalogue), MED-2 (priorities), TEL-5/END-2 (channels),
KS-7/END-8/TEL-7/MED-11 (the form's details). The answers come through the
``TicketRules`` port; these functions turn them into the domain's errors.
"""

from __future__ import annotations

import json
from typing import Any

from helpdesk_shared.vocabulary import Category, Channel, Priority

from helpdesk_intake.domain.base import InvalidInput
from helpdesk_intake.domain.rules import TicketRules

MAX_DETAILS_BYTES = 16_000  # a request's details, as JSON


class ChannelClosed(InvalidInput):
    """The policy does not register requests that arrive through this channel (TEL-5, END-2)."""


def check_channel(rules: TicketRules, channel: Channel) -> None:
    if not rules.registers_channel(channel):
        raise ChannelClosed(f"{channel.value} requests are not registered under this policy (TEL-5, END-2)",
                            field="channel")


def check_priority(rules: TicketRules, priority: Priority) -> None:
    if not rules.offers_priority(priority):
        raise InvalidInput(f"priority {priority.value!r} is not offered under this policy (MED-2)",
                           field="priority")


def check_service(rules: TicketRules, service: str | None) -> None:
    if service is not None and not rules.knows_service(service):
        raise InvalidInput(f"service {service!r} is not in this policy's catalogue (MED-3, IMC-1)",
                           field="service")


def checked_details(rules: TicketRules, category: Category | None, channel: Channel,
                    details: dict[str, Any] | None, lenient: bool = False) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The details and the required fields still missing; raises for wrong or (unless ``lenient``) missing ones.

    ``lenient``: missing details do not refuse the request (mail never is, CONTRACT §3); they are flagged.
    """
    details = dict(details or {})
    if len(json.dumps(details, ensure_ascii=False).encode()) > MAX_DETAILS_BYTES:
        raise InvalidInput(f"details are larger than {MAX_DETAILS_BYTES} bytes", field="details")
    wrong, missing = rules.detail_problems(category, channel, details)
    problems = [*wrong, *([] if lenient else [(name, "is required") for name in missing])]
    if problems:
        raise InvalidInput("; ".join(f"{name} {why}" for name, why in problems), field=problems[0][0],
                           fields=problems)
    return details, tuple(missing)
