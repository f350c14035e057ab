"""The PolicyBook (CONTRACT §5): published versions replace the fallback in place, in version order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpdesk_shared.events import Actor
from helpdesk_shared.policies import PRESETS_DIR
from helpdesk_shared.policy_book import PolicyBook, local_policies
from helpdesk_shared.policy_events import PolicyPublished
from helpdesk_shared.vocabulary import Role

AT = dt.datetime(2026, 2, 2, 7, 0, tzinfo=dt.UTC)
TELEMED = (PRESETS_DIR / "telemed.toml").read_text()


def published(version: int, text: str) -> PolicyPublished:
    return PolicyPublished(policy_id="telemed", version=version, actor=Actor("admin", Role.ADMIN),
                           occurred_at=AT, text=text, fingerprint="-")


def test_policies_as_events_the_book_takes_newer_versions_in_place_and_tells_its_listeners() -> None:
    book = PolicyBook.local()
    held, heard = book, []
    book.on_change(heard.append)
    renamed = TELEMED.replace('name = "TelemedHelp"', 'name = "TelemedHelp v2"')
    assert book.take(published(1, renamed)) and held["telemed"].name == "TelemedHelp v2"
    assert not book.take(published(1, TELEMED))  # a repeat changes nothing
    assert not book.take(published(2, "id = [")) and held["telemed"].name == "TelemedHelp v2"  # unreadable
    assert heard == ["telemed"] and book.versions == {"telemed": 1}


def test_policies_as_events_the_fallback_skips_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(TELEMED.replace('id = "telemed"', 'id = "good"'))
    (tmp_path / "bad.toml").write_text('id = "bad"\nname = 3\n')
    policies = local_policies(tmp_path)
    assert "good" in policies and "bad" not in policies and "imc" in policies
