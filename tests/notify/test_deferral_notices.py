"""TEL-9 and END-5 in notify's pure decision and its templates: the customer hears why (no I/O)."""

from __future__ import annotations

import pytest

from helpdesk_notify.adapters.policies import PolicyWindows
from helpdesk_notify.adapters.rendering import Renderer
from helpdesk_shared import events as ev
from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Status
from tests.notify.facts import REQUESTER, History
from tests.notify.test_decisions import replay

WINDOWS = PolicyWindows(load_policies())
renderer = Renderer()


@pytest.mark.parametrize(("language", "label"), [("ru", "Причина: Оскорбительное обращение"),
                                                 ("en", "Reason: Abusive")])
def test_tel9_the_customer_is_told_the_deferral_reason_label_in_their_language(language: str, label: str) -> None:
    ticket = History("HD-77")
    deferred = ticket.move(ev.Deferred, status=Status.DEFERRED, reason="abusive", comment=None)
    _, [mail] = replay(ticket.opened(policy="telemed"), deferred, windows=WINDOWS)
    assert (mail.recipient_id, mail.template) == (REQUESTER, "deferred")
    assert mail.context["reason_label"] == {"ru": "Оскорбительное обращение", "en": "Abusive"}
    rendered = renderer.render(mail.template, language, mail.context)
    assert label in rendered.text and label.split(": ")[1] in rendered.html
    assert rendered.subject.startswith("[#HD-77] ")


def test_tel9_resume_is_told_and_an_unknown_reason_falls_back_to_its_code() -> None:
    ticket = History()
    opened = ticket.opened(policy="keysystems")
    deferred = ticket.move(ev.Deferred, status=Status.DEFERRED, reason="legacy_code")
    _, [mail] = replay(opened, deferred, windows=WINDOWS)
    assert mail.context["reason_label"] is None and "legacy_code" in renderer.render("deferred", "en", mail.context).text
    resumed = ticket.move(ev.Resumed, status=Status.IN_PROGRESS, from_status=Status.DEFERRED)
    _, [back] = replay(opened, deferred, resumed, windows=WINDOWS)
    assert back.context["resumed"] and "back in work" in renderer.render("deferred", "en", back.context).text


def test_end5_the_customer_is_told_who_the_ticket_waits_on_and_when_it_no_longer_does() -> None:
    ticket = History()
    opened = ticket.opened()
    awaited = ticket.event(ev.ThirdPartyAwaited, party="Mobile operator", note="SMS gateway down")
    _, [mail] = replay(opened, awaited)
    assert (mail.recipient_id, mail.template, mail.context["cleared"]) == (REQUESTER, "third_party", False)
    text = renderer.render("third_party", "en", mail.context).text
    assert "Mobile operator" in text and "SMS gateway down" in text
    cleared = ticket.event(ev.ThirdPartyCleared, party="Mobile operator")
    _, [done] = replay(opened, awaited, cleared)
    assert "no longer waits on Mobile operator" in renderer.render("third_party", "en", done.context).text
