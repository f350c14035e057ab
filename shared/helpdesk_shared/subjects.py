"""NATS names: the stream and the subject scheme of CONTRACT.md §8."""

STREAM = "HELPDESK"
TICKET_PREFIX = "helpdesk.ticket"
SLA_PREFIX = "helpdesk.sla"
STREAM_SUBJECTS = [f"{TICKET_PREFIX}.>", f"{SLA_PREFIX}.>"]
ALL_TICKET_EVENTS = f"{TICKET_PREFIX}.>"


def ticket_subject(ticket_id: str, event_type: str) -> str:
    """``helpdesk.ticket.<ticket_id>.<event>`` for a CloudEvent type ``helpdesk.ticket.<event>``."""
    return f"{TICKET_PREFIX}.{ticket_id}.{event_type.rsplit('.', 1)[-1]}"


def sla_subject(ticket_id: str, event_type: str) -> str:
    """``helpdesk.sla.<ticket_id>.<event>`` for a CloudEvent type ``helpdesk.sla.<event>``."""
    return f"{SLA_PREFIX}.{ticket_id}.{event_type.rsplit('.', 1)[-1]}"
