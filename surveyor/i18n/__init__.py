"""Translations (gettext catalogues read with Babel) and number/date formatting per language.

Catalogues live in ``surveyor/i18n/locale/<lang>/LC_MESSAGES/<domain>.po``, one domain per part
of the product (``map``, ``report``, ``cli``), so each can grow on its own. The ``.po`` files are
read directly (no compiled ``.mo`` step to forget). English msgids are the source text; the ``en``
catalogue may still carry entries where the wording differs. ``missing_messages`` lets a test fail
when code uses a string that a catalogue lacks.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Callable

LANGUAGES = ("id", "en")
LOCALES = {"id": "id_ID", "en": "en_GB"}


def N_(msgid: str) -> str:
    """Mark a msgid for the catalogue without translating it here (translated where it is shown)."""
    return msgid


@lru_cache(maxsize=None)
def catalog(lang: str, domain: str) -> dict[str, str]:
    """msgid -> msgstr for one language and domain (empty when the catalogue does not exist)."""
    from babel.messages.pofile import read_po

    ref = resources.files("surveyor.i18n").joinpath("locale", lang, "LC_MESSAGES", f"{domain}.po")
    if not ref.is_file():
        return {}
    with ref.open("rb") as fh:
        cat = read_po(fh, locale=LOCALES.get(lang, lang), domain=domain)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str)}


def translator(lang: str, domain: str) -> Callable[[str], str]:
    """A ``_`` function: the translation, or the English msgid when there is none."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGUAGES}")
    table = catalog(lang, domain)

    def _(msgid: str) -> str:
        return table.get(msgid) or msgid

    return _


def missing_messages(lang: str, domain: str, msgids: list[str]) -> list[str]:
    """The msgids that the catalogue lacks or leaves untranslated (for tests)."""
    table = catalog(lang, domain)
    return [m for m in msgids if not table.get(m)]


def format_number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """A number as the language writes it (Indonesian: 1.234,5; English: 1,234.5); '-' for missing."""
    from babel.numbers import format_decimal

    if value is None or value != value:
        return "-"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALES[lang])


def format_percent(share: float | None, lang: str, digits: int = 0) -> str:
    if share is None or share != share:
        return "-"
    return format_number(share * 100, lang, digits) + "%"


def format_date(value, lang: str, fmt: str = "long") -> str:
    """A date or datetime in the language (e.g. '14 Juli 2026' / '14 July 2026')."""
    from babel.dates import format_date as _fd

    if value is None:
        return "-"
    return _fd(value, format=fmt, locale=LOCALES[lang])
