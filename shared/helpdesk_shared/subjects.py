"""NATS names: the stream and the subject scheme of CONTRACT.md §8.

Beyond the contract's ticket and SLA trees, intake also publishes its directory
(customers, users) and the outcome of every inbound mail, in the same stream.
"""

STREAM = "HELPDESK"
TICKET_PREFIX = "helpdesk.ticket"
SLA_PREFIX = "helpdesk.sla"
CUSTOMER_PREFIX = "helpdesk.customer"
USER_PREFIX = "helpdesk.user"
MAIL_PREFIX = "helpdesk.mail"
WEBHOOK_PREFIX = "helpdesk.webhook"  # registrations and removals, never a secret
RELEASE_PREFIX = "helpdesk.release"  # the vendor's releases (IMC-9)
POLICY_PREFIX = "helpdesk.policy"  # published versions of SLA policies (CONTRACT §5)
# What the relay publishes from intake's event store, in store order.
STORE_PREFIXES = (TICKET_PREFIX, CUSTOMER_PREFIX, USER_PREFIX, MAIL_PREFIX, WEBHOOK_PREFIX, RELEASE_PREFIX,
                  POLICY_PREFIX)
STREAM_SUBJECTS = [f"{prefix}.>" for prefix in (*STORE_PREFIXES, SLA_PREFIX)]
ALL_TICKET_EVENTS = f"{TICKET_PREFIX}.>"
EVERYTHING = "helpdesk.>"  # every family: the audit export
CUSTOMER_POLICY_CHANGES = f"{CUSTOMER_PREFIX}.*.policy_changed"
ALL_RELEASE_EVENTS = f"{RELEASE_PREFIX}.>"
ALL_POLICY_EVENTS = f"{POLICY_PREFIX}.>"


def subject(prefix: str, subject_id: str, event_type: str) -> str:
    """``<prefix>.<id>.<event>`` for a CloudEvent type ``helpdesk.<family>.<event>``."""
    return f"{prefix}.{subject_id}.{event_type.rsplit('.', 1)[-1]}"


def ticket_subject(ticket_id: str, event_type: str) -> str:
    """``helpdesk.ticket.<ticket_id>.<event>`` for a CloudEvent type ``helpdesk.ticket.<event>``."""
    return subject(TICKET_PREFIX, ticket_id, event_type)


def sla_subject(ticket_id: str, event_type: str) -> str:
    """``helpdesk.sla.<ticket_id>.<event>`` for a CloudEvent type ``helpdesk.sla.<event>``."""
    return subject(SLA_PREFIX, ticket_id, event_type)


def family(subject_name: str) -> str:
    """The family a subject belongs to: ``ticket``, ``sla``, ``customer``, ``user``, ``mail``, ``webhook``, ``release`` or ``policy``."""
    parts = subject_name.split(".")
    return parts[1] if len(parts) > 1 else ""
