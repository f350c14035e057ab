"""Policy files: the presets load; a bad file names the file, the field and the problem."""

import pytest

from helpdesk_shared.policies import (
    PRESET_IDS,
    PRESETS_DIR,
    Duration,
    PolicyError,
    UnknownPolicy,
    get_policy,
    load_policies,
    parse_policy,
)

MINIMAL = """
id = "acme"
name = "Acme"
[calendar]
timezone = "Europe/Moscow"
holidays = "RU"
[calendar.hours]
mon = ["09:00-18:00"]
"""


def problem(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "acme.toml")
    return caught.value


def test_all_five_presets_load_under_their_file_names():
    policies = load_policies()
    assert set(PRESET_IDS) <= set(policies)
    for policy_id in PRESET_IDS:
        assert (PRESETS_DIR / f"{policy_id}.toml").exists()
        assert policies[policy_id].id == policy_id


def test_durations_parse_into_typed_values():
    policy = parse_policy(MINIMAL + '[[targets]]\nfirst_response = "3bd"\n')
    assert policy.targets[0].first_response == Duration(3, "bd")
    assert str(Duration.parse(" 10wm ")) == "10wm"


def test_a_bad_unit_names_file_field_and_units():
    error = problem(MINIMAL + '[[targets]]\nfirst_response = "3 days"\n')
    assert (error.path, error.field) == ("acme.toml", "targets[0].first_response")
    assert "bad duration '3 days'" in str(error) and "bd (business days)" in str(error)
    assert str(error).startswith("acme.toml, field targets[0].first_response: ")


def test_an_unknown_field_is_an_error_not_ignored():
    error = problem(MINIMAL + '[[targets]]\nfirst_respnse = "3bd"\n')
    assert error.field == "targets[0]" and "first_respnse" in error.problem


def test_a_missing_field_is_named():
    error = problem(MINIMAL.replace('name = "Acme"\n', ""))
    assert "name" in error.problem


def test_an_unknown_status_in_a_transition_is_named():
    error = problem(MINIMAL + '[[transitions]]\nstatus = "limbo"\nafter = "2w"\naction = "reject"\nreason = "x"\n')
    assert error.field == "transitions[0].status"


def test_an_unknown_action_is_named():
    error = problem(MINIMAL + '[[transitions]]\nstatus = "new"\nafter = "2w"\naction = "explode"\nreason = "x"\n')
    assert error.field == "transitions[0].action"


def test_a_bad_time_zone_or_interval_names_the_calendar():
    assert "unknown time zone" in problem(MINIMAL.replace("Europe/Moscow", "Mars/Olympus")).problem
    error = problem(MINIMAL.replace("09:00-18:00", "18:00-09:00"))
    assert error.field == "calendar.hours" and "18:00-09:00" in error.problem


def test_a_channel_key_must_be_a_channel():
    error = problem(MINIMAL + '[reaction]\npigeon = "5wm"\n')
    assert error.field == "reaction (a key)" and "pigeon" in error.problem


def test_invalid_toml_names_the_file():
    error = problem("id = ")
    assert error.path == "acme.toml" and "invalid TOML" in error.problem


def test_an_operator_directory_overrides_and_extends_the_presets(tmp_path):
    (tmp_path / "acme.toml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "endocs.toml").write_text(MINIMAL.replace('"acme"', '"endocs"'), encoding="utf-8")
    policies = load_policies(tmp_path)
    assert policies["acme"].name == "Acme" and policies["endocs"].name == "Acme"
    assert policies["imc"].name == "IMC"


def test_a_bad_operator_file_names_its_path(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("pause_statuses = ['done']\n" + MINIMAL, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert str(bad) in str(caught.value) and "not an open status" in str(caught.value)


def test_an_unknown_policy_id_raises_unknown_policy():
    with pytest.raises(UnknownPolicy):
        get_policy(load_policies(), "nope")
