"""The regulation rule ids a policy carries for the admin's pages (issue #13): every preset row names
the rules it implements, and a malformed id or an unknown setting is refused by field."""

from __future__ import annotations

import pytest

from helpdesk_shared.policies import PRESET_IDS, PRESETS_DIR, PolicyError, load_directory, parse_policy
from helpdesk_shared.policies.validation import policy_problems

SMALL = """
id = "small"
name = "Small"
[calendar]
timezone = "UTC"
[calendar.hours]
mon = ["09:00-18:00"]
"""


@pytest.mark.parametrize("policy_id", PRESET_IDS)
def test_policy_rule_ids_every_preset_row_names_the_rules_it_implements(policy_id: str) -> None:
    policy = load_directory(PRESETS_DIR)[policy_id]
    rows = [*policy.targets, *policy.transitions, *policy.reminders]
    assert all(row.rules for row in rows), [row for row in rows if not row.rules]
    prefix = policy.regulation + "-"
    every = [rule for row in rows for rule in row.rules] + [r for rules in policy.rules.values() for r in rules]
    assert every and all(rule.startswith(prefix) for rule in every)


def test_policy_rule_ids_are_optional_and_a_bad_one_is_refused_by_field() -> None:
    assert parse_policy(SMALL).rules == {}
    assert parse_policy(SMALL + '[rules]\ncalendar = ["END-1"]\n').rules == {"calendar": ["END-1"]}
    assert policy_problems(SMALL + '[[targets]]\nfirst_response = "1bd"\nrules = ["end 1"]\n')[0][0] == \
        "targets[0].rules[0]"
    with pytest.raises(PolicyError, match="colour"):
        parse_policy(SMALL + '[rules]\ncolour = ["END-1"]\n')
