"""SLA policies: typed policy files and the five regulation presets (the SLA service evaluates them)."""

from helpdesk_shared.policies.duration import Duration, Unit
from helpdesk_shared.policies.loader import (
    PRESET_IDS,
    PRESETS_DIR,
    PolicyError,
    UnknownPolicy,
    get_policy,
    load_directory,
    load_policies,
    load_policy,
    parse_policy,
)
from helpdesk_shared.policies.model import Billing, Budget, Policy, Release, TargetRule, calendar_of
from helpdesk_shared.policies.rules import (
    billed_minutes,
    channel_registers,
    customer_reply_status,
    deferral_reason,
    may_send_to_development,
    reopen_until,
)

__all__ = [
    "PRESETS_DIR", "PRESET_IDS", "Billing", "Budget", "Duration", "Policy", "PolicyError", "Release",
    "TargetRule", "Unit", "UnknownPolicy", "billed_minutes", "calendar_of", "channel_registers",
    "customer_reply_status", "deferral_reason", "get_policy", "load_directory", "load_policies", "load_policy",
    "may_send_to_development", "parse_policy", "reopen_until",
]
