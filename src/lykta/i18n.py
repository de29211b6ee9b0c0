"""Gettext catalogues (Babel ``.po`` files) and locale negotiation.

Catalogues are read from the ``.po`` sources at start-up and compiled in memory, so there
is no build step and no stale ``.mo`` file. Swedish is the default; English is complete.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from importlib import resources

from babel import Locale
from babel.core import UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED_LOCALES: tuple[str, ...] = ("sv", "en")
LANGUAGE_NAMES: Mapping[str, str] = {"sv": "Svenska", "en": "English"}
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the locale is known."""
    return message


@functools.cache
def get_translations(locale: str) -> gettext.NullTranslations:
    if locale not in SUPPORTED_LOCALES:
        return gettext.NullTranslations()
    po = resources.files("lykta") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
    except FileNotFoundError:
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, best first. Malformed parts are skipped."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:500].split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        quality = 1.0
        for param in pieces[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(requested: str | None, accept_language: str | None, default: str) -> str:
    """An explicit choice wins, then the browser's preferences, then the default."""
    if requested in SUPPORTED_LOCALES:
        return requested
    for tag in parse_accept_language(accept_language):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in SUPPORTED_LOCALES:
            return language
        if language in ("nb", "nn", "no", "da"):
            # Scandinavian readers understand Swedish better than English on average.
            return "sv"
    return default if default in SUPPORTED_LOCALES else SUPPORTED_LOCALES[0]
