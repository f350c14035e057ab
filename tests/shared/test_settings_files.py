"""Issue #14 item 5: any setting may come from a file (``HELPDESK_<FIELD>_FILE``), as secrets are mounted."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_shared.settings import CommonSettings, SettingsError, from_env


def test_platform_keys_a_setting_comes_from_the_file_its_file_variable_names(tmp_path: Path) -> None:
    (tmp_path / "admin").write_text("s3cret-admin\n")
    (tmp_path / "db").write_text("postgresql://app@db.internal/helpdesk")
    settings = from_env(CommonSettings, {"HELPDESK_ADMIN_TOKEN_FILE": str(tmp_path / "admin"),
                                         "HELPDESK_DATABASE_URL_FILE": str(tmp_path / "db"),
                                         "HELPDESK_NATS_URL": "nats://nats:4222"})
    assert settings.admin_token == "s3cret-admin"  # the trailing newline of `echo … > file` is not part of it
    assert settings.database_url == "postgresql://app@db.internal/helpdesk"
    assert settings.nats_url == "nats://nats:4222"


def test_platform_keys_a_file_setting_converts_like_the_variable(tmp_path: Path) -> None:
    (tmp_path / "refresh").write_text("2.5\n")
    assert from_env(CommonSettings, {"HELPDESK_JWKS_REFRESH_SECONDS_FILE": str(tmp_path / "refresh")}
                    ).jwks_refresh_seconds == 2.5


def test_platform_keys_variable_and_file_both_set_is_refused(tmp_path: Path) -> None:
    (tmp_path / "admin").write_text("from-file")
    with pytest.raises(SettingsError, match="HELPDESK_ADMIN_TOKEN and HELPDESK_ADMIN_TOKEN_FILE are both set"):
        from_env(CommonSettings, {"HELPDESK_ADMIN_TOKEN": "from-env", "HELPDESK_ADMIN_TOKEN_FILE": str(tmp_path / "admin")})


def test_platform_keys_a_missing_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HELPDESK_DATABASE_URL_FILE: cannot read"):
        from_env(CommonSettings, {"HELPDESK_DATABASE_URL_FILE": str(tmp_path / "absent")})


def test_platform_keys_verification_keys_follow_intake_unless_given() -> None:
    assert from_env(CommonSettings, {"HELPDESK_INTAKE_URL": "http://intake:8001/"}
                    ).verification_keys_url() == "http://intake:8001/v1/auth/jwks"
    assert from_env(CommonSettings, {"HELPDESK_JWKS_URL": "https://keys.example/jwks.json"}
                    ).verification_keys_url() == "https://keys.example/jwks.json"
