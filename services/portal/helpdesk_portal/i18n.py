"""Russian by default, English on request: Babel gettext catalogues, compiled from the .po files at load.

The .po files are the source (extracted from templates and code with ``pybabel extract -F babel.cfg``);
compiling them in memory when the portal starts means a fresh clone needs no build step.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("ru", "en")
DEFAULT = "ru"
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def translations(locale: str) -> Translations:
    """The catalogue of ``locale`` (one of LOCALES), compiled once per process."""
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose(requested: str | None) -> str:
    """The language a page is shown in: the user's choice, else Russian (the browser's own setting does not
    decide: the product speaks Russian unless a user asks otherwise)."""
    return requested if requested in LOCALES else DEFAULT  # type: ignore[return-value]
