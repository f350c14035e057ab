"""Where webhooks may point (CONTRACT §10): the rules intake and notify share. No traffic leaves loopback."""

from __future__ import annotations

import pytest

from helpdesk_shared.webhook_targets import RefusedTarget, check_subjects, check_url, matches, resolve_blocking


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/hook",
                                 "http://localhost:8080/hook"])
def test_platform_webhooks_loopback_is_refused_unless_development_allows_it(url: str) -> None:
    with pytest.raises(RefusedTarget, match="loopback"):
        resolve_blocking(check_url(url, allow_loopback=False), allow_loopback=False) if url.startswith("https") \
            else check_url(url, allow_loopback=False)
    assert resolve_blocking(check_url(url, allow_loopback=True), allow_loopback=True) in ("127.0.0.1", "::1")


@pytest.mark.parametrize("url", ["https://10.1.2.3/", "https://169.254.169.254/", "https://[fe80::1]/",
                                 "https://[fc00::1]/", "https://100.100.100.200/", "https://255.255.255.255/"])
def test_platform_webhooks_private_link_local_and_metadata_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget):
        resolve_blocking(check_url(url, allow_loopback=True), allow_loopback=True)


def test_platform_webhooks_subject_filters_are_nats_patterns() -> None:
    assert check_subjects(["helpdesk.ticket.>", "helpdesk.ticket.*.opened"]) == ("helpdesk.ticket.>",
                                                                                 "helpdesk.ticket.*.opened")
    for bad in (["helpdesk.>.opened"], ["tickets.>"], ["helpdesk..x"], ["helpdesk.ticket.a b"], []):
        with pytest.raises(RefusedTarget):
            check_subjects(bad)
    assert matches("helpdesk.ticket.>", "helpdesk.ticket.t1.opened")
    assert matches("helpdesk.ticket.*.opened", "helpdesk.ticket.t1.opened")
    assert not matches("helpdesk.ticket.*.opened", "helpdesk.ticket.t1.comment_added")
    assert not matches("helpdesk.ticket.>", "helpdesk.ticket")
    assert not matches("helpdesk.*", "helpdesk.ticket.t1.opened")
