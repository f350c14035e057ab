"""SLA policies: typed policy files, the five regulation presets, and their evaluation."""

from helpdesk_shared.policies.duration import Duration, Unit
from helpdesk_shared.policies.evaluation import KINDS, SlaState, Target, Transition, evaluate
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
from helpdesk_shared.policies.model import (
    AutoTransition,
    Billing,
    Budget,
    Policy,
    Release,
    Reminder,
    ReopenWindows,
    TargetRule,
    calendar_of,
)
from helpdesk_shared.policies.rules import (
    billed_minutes,
    budget_allows,
    channel_registers,
    customer_reply_status,
    deferral_reason,
    may_send_to_development,
    reopen_until,
    reopen_window_open,
)

__all__ = [
    "KINDS", "PRESETS_DIR", "PRESET_IDS", "AutoTransition", "Billing", "Budget", "Duration",
    "Policy", "PolicyError", "Release", "Reminder", "ReopenWindows", "SlaState", "Target",
    "TargetRule", "Transition", "Unit", "UnknownPolicy", "billed_minutes", "budget_allows",
    "calendar_of", "channel_registers", "customer_reply_status", "deferral_reason", "evaluate", "get_policy",
    "load_directory", "load_policies", "load_policy", "may_send_to_development", "parse_policy",
    "reopen_until", "reopen_window_open",
]
