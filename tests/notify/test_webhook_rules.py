"""Webhook delivery rules (CONTRACT §10): the signature header and retries with backoff and full jitter."""

from __future__ import annotations

import hashlib
import hmac

from helpdesk_notify.domain.webhooks import RetryPolicy, answer_is_delivered, signature


def test_platform_webhooks_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"e1","type":"helpdesk.ticket.opened"}'
    expected = hmac.new(b"0123456789abcdef", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("0123456789abcdef", 1700000000, body) == f"t=1700000000,v1={expected}"


def test_platform_webhooks_retries_back_off_exponentially_with_full_jitter_then_give_up() -> None:
    policy = RetryPolicy(max_attempts=5, base=1.0, cap=5.0)
    ceilings = [policy.after_failure(n, False, lambda low, high: high) for n in range(1, 5)]
    assert ceilings == [1.0, 2.0, 4.0, 5.0], "doubling, capped"
    assert policy.after_failure(3, False, lambda low, high: low) == 0.0, "full jitter draws from zero"
    assert policy.after_failure(5, False, lambda low, high: high) is None, "given up after max_attempts"
    assert policy.after_failure(1, True, lambda low, high: high) is None, "a refused address is not retried"


def test_platform_webhooks_only_a_2xx_answer_is_delivered() -> None:
    assert answer_is_delivered(200) and answer_is_delivered(204)
    assert not any(answer_is_delivered(s) for s in (301, 400, 410, 500, 503))
