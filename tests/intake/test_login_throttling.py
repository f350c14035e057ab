"""Login throttling (issue #15 item 9, CONTRACT §7 ``too_many_attempts``) on real intake processes.

Each test runs intake on the simulated clock, so a delay lasts until the test moves time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.intake.logins import (
    ADMIN,
    PASSWORD,
    advance,
    assert_throttled,
    attempt,
    customer_user,
    once_not_throttled,
    start_intake,
)

GENEROUS = 10_000  # attempts per address: out of the way of tests about the per-login delays


def test_hardening_login_throttling_30_wrong_passwords_then_the_right_one_is_429_until_the_delay_passes(
        services, nats_url) -> None:
    with start_intake(services, login_address_attempts=GENEROUS) as client:
        victim = customer_user(client)
        statuses = [attempt(client, victim.login).status_code for _ in range(30)]
        assert statuses[:6] == [401] * 6, statuses  # five free failures, the sixth starts the delays
        assert set(statuses[6:]) == {429}, statuses

        wait = assert_throttled(attempt(client, victim.login, PASSWORD))  # not even the right one
        assert wait == 1  # the waits on the failures made during the delay did not count
        advance(nats_url, wait)
        assert once_not_throttled(client, victim.login, PASSWORD).status_code == 200


def test_hardening_login_throttling_delays_grow_but_stay_bounded_so_a_victim_is_never_locked_out(
        services, nats_url) -> None:
    with start_intake(services, login_free_failures=2, login_first_delay_seconds=1, login_max_delay_seconds=8,
                      login_address_attempts=GENEROUS) as client:
        victim = customer_user(client)
        assert [attempt(client, victim.login).status_code for _ in range(3)] == [401, 401, 401]
        waits = []
        for _ in range(6):  # an attacker who guesses again as soon as each delay is over
            wait = assert_throttled(attempt(client, victim.login))
            assert all(assert_throttled(attempt(client, victim.login)) == wait for _ in range(5))
            waits.append(wait)
            advance(nats_url, wait)
            assert once_not_throttled(client, victim.login).status_code == 401
        assert waits == [1, 2, 4, 8, 8, 8]

        advance(nats_url, 8)  # the longest wait there is: then the victim gets in
        assert once_not_throttled(client, victim.login, PASSWORD).status_code == 200
        assert attempt(client, victim.login).status_code == 401  # and the count starts afresh
        assert attempt(client, victim.login, PASSWORD).status_code == 200


def test_hardening_login_throttling_limits_attempts_per_address_across_logins(services, nats_url) -> None:
    with start_intake(services, login_address_attempts=5, login_address_window_seconds=60) as client:
        victim = customer_user(client)
        assert [attempt(client, f"guess-{n}").status_code for n in range(5)] == [401] * 5
        wait = assert_throttled(attempt(client, victim.login, PASSWORD))  # another login, the right password
        assert 1 <= wait <= 60
        advance(nats_url, wait)
        assert once_not_throttled(client, victim.login, PASSWORD).status_code == 200


def test_hardening_login_throttling_ignores_x_forwarded_for_from_an_untrusted_peer(services) -> None:
    with start_intake(services, login_address_attempts=3) as client:
        victim = customer_user(client)
        statuses = [attempt(client, f"guess-{n}", forwarded_for=f"203.0.113.{n}").status_code for n in range(3)]
        assert statuses == [401] * 3
        assert_throttled(attempt(client, victim.login, PASSWORD, forwarded_for="198.51.100.9"))


def test_hardening_login_throttling_honours_x_forwarded_for_from_a_trusted_proxy(services) -> None:
    with start_intake(services, login_address_attempts=3, trusted_proxies="127.0.0.0/8, ::1/128") as client:
        victim = customer_user(client)
        attacker, user = "203.0.113.7", "198.51.100.9"
        assert [attempt(client, f"guess-{n}", forwarded_for=attacker).status_code for n in range(3)] == [401] * 3
        assert_throttled(attempt(client, victim.login, PASSWORD, forwarded_for=attacker))
        # A forged entry to the left of what the proxy appended does not hide the attacker.
        assert_throttled(attempt(client, victim.login, PASSWORD, forwarded_for=f"{user}, {attacker}"))
        assert attempt(client, victim.login, PASSWORD, forwarded_for=user).status_code == 200


def test_hardening_login_throttling_is_shared_by_intake_replicas(services) -> None:
    settings = {"login_free_failures": 2, "login_address_attempts": GENEROUS}
    with start_intake(services, **settings) as first, start_intake(services, **settings) as second:
        victim = customer_user(first)
        statuses = [attempt(replica, victim.login).status_code for replica in (first, second, first)]
        assert statuses == [401, 401, 401]  # the third failure, counted across both, starts the delay
        assert_throttled(attempt(second, victim.login, PASSWORD))
        assert_throttled(attempt(first, victim.login, PASSWORD))


def test_hardening_login_throttling_parallel_guesses_on_two_replicas_get_no_extra_tries(services) -> None:
    settings = {"login_free_failures": 2, "login_address_attempts": GENEROUS}
    with start_intake(services, **settings) as first, start_intake(services, **settings) as second:
        victim = customer_user(first)
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda n: attempt((first, second)[n % 2], victim.login).status_code, range(32)))
        # Checked one at a time across both: two free failures, a third that starts the delay, then 429s.
        assert sorted(answers) == [401] * 3 + [429] * 29, answers


def test_hardening_login_throttling_keeps_403_for_a_blocked_account(services, nats_url) -> None:
    with start_intake(services, login_free_failures=1, login_address_attempts=GENEROUS) as client:
        victim = customer_user(client)
        blocked = client.patch(f"/v1/customers/{victim.customer_id}", headers=ADMIN,
                               json={"contract": {"active": False}})
        assert blocked.status_code == 200, blocked.text
        refused = attempt(client, victim.login, PASSWORD)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

        assert [attempt(client, victim.login).status_code for _ in range(2)] == [401, 401]
        wait = assert_throttled(attempt(client, victim.login, PASSWORD))
        advance(nats_url, wait)
        refused = once_not_throttled(client, victim.login, PASSWORD)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
