"""A mailed request registered without the details its form requires: the acknowledgement asks for them."""

from __future__ import annotations

from helpdesk_shared.policies import load_policies
from helpdesk_shared.vocabulary import Channel

from helpdesk_notify.adapters.policies import PolicyWindows
from helpdesk_notify.adapters.rendering import Renderer
from helpdesk_notify.domain.notifications import decide
from helpdesk_notify.domain.ticket import evolve
from tests.notify.facts import History


def test_ks7_the_acknowledgement_of_an_incomplete_mailed_request_asks_for_what_is_missing() -> None:
    opened = History().opened(policy="telemed", channel=Channel.EMAIL,
                              missing_details=("details.version", "details.platform"))
    [mail] = decide(opened, evolve(None, opened.data), PolicyWindows(load_policies()))
    assert mail.context["missing_details"] == [
        {"name": "version", "label": {"ru": "Версия", "en": "Version"}},
        {"name": "platform", "label": {"ru": "Платформа", "en": "Platform"}}]
    russian = Renderer().render("acknowledgement", "ru", mail.context)
    assert "не хватает сведений" in russian.text and "- Версия\n- Платформа" in russian.text
    assert "<li>Платформа</li>" in russian.html
    english = Renderer().render("acknowledgement", "en", mail.context)
    assert "- Version\n- Platform" in english.text


def test_ks7_a_complete_request_is_acknowledged_without_asking() -> None:
    opened = History().opened(policy="telemed", channel=Channel.EMAIL, details={"version": "5", "platform": "ios"})
    [mail] = decide(opened, evolve(None, opened.data), PolicyWindows(load_policies()))
    assert "missing_details" not in mail.context
    assert "details" not in Renderer().render("acknowledgement", "en", mail.context).text.lower()
