"""Every string of the portal in both languages: the messages extracted from its templates and code
(as ``pybabel extract -F babel.cfg`` does) are all in the Russian and English catalogues."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from helpdesk_portal import i18n

ROOT = Path(i18n.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extracted() -> set[str]:
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = extract_from_dir(str(ROOT), METHODS, options_map=OPTIONS, keywords=keywords)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_portal_every_string_is_in_the_russian_and_english_catalogues() -> None:
    messages = extracted()
    assert len(messages) > 100
    for locale in i18n.LOCALES:
        with open(ROOT / "locale" / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
            catalogue = read_po(po, locale=locale)
        missing = sorted(m for m in messages if not (catalogue.get(m) and catalogue.get(m).string))
        assert not missing, f"{locale}: {missing}"


def test_portal_catalogues_compile_at_load_russian_by_default() -> None:
    assert i18n.choose(None) == "ru" and i18n.choose("en") == "en" and i18n.choose("de") == "ru"
    assert i18n.translations("ru").gettext("Sign in") == "Вход"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
