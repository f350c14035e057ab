"""Passwords hashed with argon2id at a configured cost, older hashes upgraded at login (issue #15 item 10)."""

from __future__ import annotations

import base64
import hashlib
import os

import argon2
import psycopg

from helpdesk_intake.settings import IntakeSettings
from tests.intake.logins import PASSWORD, attempt, customer_user, start_intake, store_hash, stored_hash


def legacy_scrypt(password: str) -> str:
    """A hash as the desk's first releases stored it: ``scrypt$N$r$p$salt$digest``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def events_mentioning(database_url: str, text: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.intake_events"
                            " WHERE position(%s in convert_from(state, 'UTF8')) > 0", (text,)).fetchone()[0]


def test_hardening_argon2id_defaults_to_owasp_recommended_cost() -> None:
    from helpdesk_intake.adapters.passwords import PasswordCost, Passwords

    settings = IntakeSettings()  # OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1
    cost = PasswordCost(settings.password_memory_kib, settings.password_time_cost, settings.password_parallelism)
    assert cost == PasswordCost(memory_kib=19_456, time_cost=2, parallelism=1)
    assert Passwords(cost).hash(PASSWORD).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_hardening_argon2id_stores_new_passwords_with_the_configured_cost(services, database_url) -> None:
    with start_intake(services, simulated=False, password_memory_kib=256, password_time_cost=3,
                      password_parallelism=2) as client:
        user = customer_user(client)
        assert stored_hash(database_url, user.login).startswith("$argon2id$v=19$m=256,t=3,p=2$")
        assert attempt(client, user.login).status_code == 401
        assert attempt(client, user.login, PASSWORD).status_code == 200
        assert events_mentioning(database_url, "argon2") == 0


def test_hardening_argon2id_upgrades_an_old_scrypt_hash_at_the_next_login(services, database_url) -> None:
    with start_intake(services, simulated=False, password_memory_kib=64, password_time_cost=1) as client:
        user = customer_user(client)
        old = legacy_scrypt(PASSWORD)
        store_hash(database_url, user.login, old)
        assert attempt(client, user.login).status_code == 401
        assert stored_hash(database_url, user.login) == old  # a wrong password changes nothing

        assert attempt(client, user.login, PASSWORD).status_code == 200  # existing users still get in
        upgraded = stored_hash(database_url, user.login)
        assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=1$")
        assert argon2.PasswordHasher().verify(upgraded, PASSWORD)
        assert attempt(client, user.login, PASSWORD).status_code == 200
        assert events_mentioning(database_url, upgraded) == 0 and events_mentioning(database_url, "scrypt") == 0


def test_hardening_argon2id_rehashes_a_cheaper_hash_at_the_next_login(services, database_url) -> None:
    with start_intake(services, simulated=False, password_memory_kib=64, password_time_cost=2) as client:
        user = customer_user(client)
        cheap = argon2.PasswordHasher(time_cost=1, memory_cost=32, parallelism=1).hash(PASSWORD)
        store_hash(database_url, user.login, cheap)
        assert attempt(client, user.login, PASSWORD).status_code == 200
        rehashed = stored_hash(database_url, user.login)
        assert rehashed.startswith("$argon2id$v=19$m=64,t=2,p=1$") and rehashed != cheap
        assert attempt(client, user.login, PASSWORD).status_code == 200
        assert stored_hash(database_url, user.login) == rehashed  # at the configured cost: left alone
