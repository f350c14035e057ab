"""intake's use cases: load the aggregates, let the domain decide, save what it decided."""

from helpdesk_intake.application.identity import IdentityService
from helpdesk_intake.application.service import (
    Blocked,
    IdempotencyKeyReused,
    NotFound,
    Outcome,
    Request,
    VersionConflict,
)
from helpdesk_intake.application.tickets import TicketService

__all__ = [
    "Blocked",
    "IdempotencyKeyReused",
    "IdentityService",
    "NotFound",
    "Outcome",
    "Request",
    "TicketService",
    "VersionConflict",
]
