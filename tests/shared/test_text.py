"""Issue #15 item 1: the one text rule, as commands (refuse) and mail (clean) use it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_shared.text import BadText, bad_text, check_text, clean_text

REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\ud800", "\udfff"]
KEPT = ["\t", "\n", "\r", " ", "é", "Ж", "\u00a0", "\u200b", "\u202e", "\ufffd", "\uffff", "📎"]


@pytest.mark.parametrize("character", REFUSED)
def test_hardening_poison_pill_check_text_refuses_controls_and_lone_surrogates(character: str) -> None:
    with pytest.raises(BadText) as refused:
        check_text(f"a{character}b", "subject")
    assert refused.value.field == "subject" and f"U+{ord(character):04X}" in str(refused.value)


@pytest.mark.parametrize("character", KEPT)
def test_hardening_poison_pill_check_text_keeps_tab_newlines_and_printable_text(character: str) -> None:
    assert check_text(f"a{character}b") == f"a{character}b"


def test_hardening_poison_pill_clean_text_drops_controls_and_replaces_surrogates() -> None:
    assert clean_text("a\x00b\x0cc\t\r\nd\x85") == "abc\t\r\nd"
    assert clean_text("x\udc80y") == "x\ufffdy"
    assert clean_text("plain") == "plain"


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_hardening_poison_pill_clean_text_always_passes_check_text_and_is_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert check_text(cleaned) == cleaned and clean_text(cleaned) == cleaned
    assert cleaned.encode("utf-8").decode("utf-8") == cleaned  # no surrogate survives: PostgreSQL can store it


def test_hardening_poison_pill_bad_text_names_every_nested_field() -> None:
    data = {"subject": "ok", "details": {"steps": ["fine", "x\x00"], "bad\x1bkey": "v"}, "n": 5, "none": None}
    assert [e.field for e in bad_text(data)] == ["details.steps[1]", "details.badkey"]
    assert list(bad_text({"subject": "tab\tand\nlines"})) == []
