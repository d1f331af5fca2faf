"""Translations (gettext catalogues) and number, distance and date formatting per language.

Catalogues live in ``surveyor/i18n/locale/<lang>/LC_MESSAGES/<domain>.po``, one domain per part
of the product (``map``, ``report``, ``cli``), so each can grow on its own. The ``.po`` files are
read directly (no compiled ``.mo`` step to forget) by a small reader of the standard library, so
the field logger's prompts are translated on a phone that has none of surveyor's other
dependencies (a test checks the reader against Babel's). English msgids are the source text; the
``en`` catalogue may still carry entries where the wording differs. ``missing_messages`` lets a
test fail when code uses a string that a catalogue lacks.

Numbers for people (:func:`format_number`, :func:`format_distance`, :func:`format_count`) are
written the one way of each language everywhere: the command line, KML, the sheets, the revisit
tour, the maps and the report. Distances are metres under 1 km and kilometres with one decimal
from 1 km (``850 m``, ``1,2 km`` / ``1.2 km``), with the language's separators.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources

LANGUAGES = ("id", "en")
LOCALES = {"id": "id_ID", "en": "en_GB"}


def N_(msgid: str) -> str:
    """Mark a msgid for the catalogue without translating it here (translated where it is shown)."""
    return msgid


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _po_string(text: str) -> str:
    """The value of one quoted PO string (``"a\\n"`` -> ``a`` and a newline)."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"not a PO string: {text!r}")
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def read_po(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The messages of a PO file: msgid -> msgstr, and singular msgid -> its plural forms.

    Comments, the header entry, obsolete entries (``#~``) and ``msgctxt`` lines are passed over.
    """
    singles: dict[str, str] = {}
    plurals: dict[str, list[str]] = {}
    entry: dict[str, str] = {}
    key = None

    def flush() -> None:
        msgid = entry.get("msgid")
        if msgid:
            if "msgid_plural" in entry:
                forms = [entry[k] for k in sorted((k for k in entry if k.startswith("msgstr[")),
                                                  key=lambda k: int(k[7:-1]))]
                plurals[msgid] = forms
            else:
                singles[msgid] = entry.get("msgstr", "")
        entry.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if not line and entry.get("msgid") is not None and any(k.startswith("msgstr") for k in entry):
                flush()
            continue
        if line.startswith('"'):
            if key is not None:
                entry[key] += _po_string(line)
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and any(k.startswith("msgstr") for k in entry):
            flush()
        key = word
        entry[key] = _po_string(rest)
    flush()
    return singles, plurals


@cache
def _catalogue(lang: str, domain: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    ref = resources.files("surveyor.i18n").joinpath("locale", lang, "LC_MESSAGES", f"{domain}.po")
    if not ref.is_file():
        return {}, {}
    return read_po(ref.read_text(encoding="utf-8"))


def catalog(lang: str, domain: str) -> dict[str, str]:
    """msgid -> msgstr for one language and domain (empty when the catalogue does not exist)."""
    return _catalogue(lang, domain)[0]


def plural_catalog(lang: str, domain: str) -> dict[str, list[str]]:
    """Singular msgid -> the msgstr of each plural form (Indonesian has one form, English two)."""
    return _catalogue(lang, domain)[1]


def _check(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGUAGES}")
    return lang


def translator(lang: str, domain: str) -> Callable[[str], str]:
    """A ``_`` function: the translation, or the English msgid when there is none."""
    table = catalog(_check(lang), domain)

    def _(msgid: str) -> str:
        return table.get(msgid) or msgid

    return _


def plural_form(lang: str, n: int) -> int:
    """Which plural form a count takes: Indonesian has one (``1 zona``, ``2 zona``), English two."""
    return 0 if _check(lang) == "id" or n == 1 else 1


def plural_translator(lang: str, domain: str) -> Callable[[str, str, int], str]:
    """An ``ngettext(singular, plural, n)`` function: the form of ``n`` in ``lang``, or the
    English singular/plural when the catalogue lacks the message."""
    table = plural_catalog(_check(lang), domain)

    def ngettext(singular: str, plural: str, n: int) -> str:
        forms = table.get(singular)
        i = plural_form(lang, int(n))
        if forms and i < len(forms) and forms[i]:
            return forms[i]
        return singular if int(n) == 1 else plural

    return ngettext


def missing_messages(lang: str, domain: str, msgids: list[str]) -> list[str]:
    """The msgids that the catalogue lacks or leaves untranslated (for tests). A plural message is
    given as its singular msgid and must have every form of the language."""
    table, plurals = _catalogue(lang, domain)
    need = 1 if lang == "id" else 2
    return [m for m in msgids if not table.get(m)
            and not (m in plurals and len([f for f in plurals[m] if f]) >= need)]


def format_number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """A number as the language writes it (Indonesian: 1.234,5; English: 1,234.5); '-' for missing."""
    from babel.numbers import format_decimal

    if value is None or value != value:
        return "-"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALES[lang])


def format_distance(metres: float | int | None, lang: str) -> str:
    """A distance for people: whole metres under 1 km, kilometres with one decimal from 1 km, in the
    language's separators (``850 m``, ``1,2 km`` / ``1.2 km``, ``51,3 km``); '-' for missing."""
    if metres is None or metres != metres:
        return "-"
    metres = abs(float(metres))
    if round(metres) < 1000:
        return f"{format_number(round(metres), lang)} m"
    return f"{format_number(round(metres / 1000, 1), lang, 1)} km"


def format_count(n: int, singular: str, plural: str, lang: str, domain: str = "cli") -> str:
    """``n`` and the noun in the right form, translated (``1 dead zone``, ``3 dead zones``,
    ``3 zona mati``); ``singular``/``plural`` are English msgids holding ``{n}``."""
    return plural_translator(lang, domain)(singular, plural, n).format(n=format_number(n, lang))


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
