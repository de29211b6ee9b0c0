"""Locale negotiation and gettext catalogues."""

from __future__ import annotations

import gettext
import string
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from lykta import i18n
from lykta.i18n import get_translations, negotiate, parse_accept_language
from lykta.web.strings import STAFF_STRINGS, YOUTH_STRINGS

# ----- negotiate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "header", "default", "expected"),
    [
        # An explicit choice (the language switcher) wins over everything.
        ("en", "sv-SE,sv;q=0.9", "sv", "en"),
        ("sv", "en-US,en;q=0.9", "en", "sv"),
        # Unsupported or garbage choices are ignored, not trusted.
        ("de", "en-US", "sv", "en"),
        ("EN<script>", None, "sv", "sv"),
        ("", "en", "sv", "en"),
        # Accept-Language, best q first.
        (None, "en-US,en;q=0.9", "sv", "en"),
        (None, "sv-SE", "en", "sv"),
        (None, "de-DE,de;q=0.9,en;q=0.8,sv;q=0.7", "sv", "en"),
        (None, "sv;q=0.5,en;q=0.8", "sv", "en"),
        (None, "en;q=0.5,sv;q=0.8", "en", "sv"),
        (None, "en;q=0,sv;q=0.1", "en", "sv"),  # q=0 means "not this"
        (None, "EN-gb", "sv", "en"),
        # Norwegian and Danish readers get Swedish.
        (None, "nb-NO,nb;q=0.9,en;q=0.5", "en", "sv"),
        (None, "nn", "en", "sv"),
        (None, "no", "en", "sv"),
        (None, "da-DK", "en", "sv"),
        # Nothing usable: the default.
        (None, None, "sv", "sv"),
        (None, "", "en", "en"),
        (None, "de-DE,fr;q=0.5", "en", "en"),
        (None, "*", "en", "en"),
        (None, None, "xx", "sv"),  # a broken default still gives a supported locale
    ],
)
def test_negotiate(requested: str | None, header: str | None, default: str, expected: str) -> None:
    assert negotiate(requested, header, default) == expected


@pytest.mark.parametrize(
    "header",
    [
        ";;;",
        ",,,",
        "en;q=abc",
        "en;q=",
        "q=1",
        "-",
        "@@@",
        "en_US",
        "\x00\x01",
        "x" * 40,
        "ä-ö",
        "en;q=nan",
        "1234",
        "sv-" + "x" * 100,
        ",".join(["de"] * 1000),
        "en-US-u-ca-buddhist",
        "😀",
    ],
)
def test_malformed_accept_language_never_crashes(header: str) -> None:
    assert negotiate(None, header, "sv") in ("sv", "en")
    assert negotiate(None, header, "en") in ("sv", "en")


# ----- parse_accept_language -----------------------------------------------------------


def test_parse_orders_by_quality_then_position() -> None:
    header = "de;q=0.5, en-GB ,sv;q=0.9, fr;q=0.9, nl;q=0"
    assert parse_accept_language(header) == ["en-GB", "sv", "fr", "de"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("*", []),
        ("*;q=0.5, en", ["en"]),
        (" , ;q=1, en", ["en"]),
        ("en;q=bogus, sv", ["sv"]),  # an unreadable q is treated as 0
        ("x" * 36 + ", sv", ["sv"]),  # over-long tags are skipped
        ("en;level=1;q=0.4, sv;q=0.5", ["sv", "en"]),
    ],
)
def test_parse_ignores_garbage(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


def test_parse_caps_the_header_length() -> None:
    padding = ",".join(["de"] * 200)  # 599 characters
    assert len(padding) > 500
    assert parse_accept_language(padding + ",en") == ["de"] * 167
    assert "en" not in parse_accept_language(padding + ",en")
    assert negotiate(None, padding + ",en", "sv") == "sv"
    # A huge header costs no more than a short one.
    assert len(parse_accept_language("en," * 1_000_000)) == 167


# ----- catalogues ----------------------------------------------------------------------


@pytest.fixture
def fresh_catalogues() -> Iterator[None]:
    get_translations.cache_clear()
    yield
    get_translations.cache_clear()


def test_unknown_locale_translates_nothing(fresh_catalogues: None) -> None:
    translations = get_translations("de")
    assert type(translations) is gettext.NullTranslations
    assert translations.gettext("Start a chat") == "Start a chat"


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_supported_locales_load_and_are_cached(fresh_catalogues: None, locale: str) -> None:
    translations = get_translations(locale)
    assert get_translations(locale) is translations
    # Untranslated ids come back unchanged rather than failing.
    assert translations.gettext("no such message id 1234") == "no such message id 1234"


SV_PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: sv\\n"

msgid "Start a chat"
msgstr "Starta en chatt"

msgid "{name} has joined"
msgstr "{name} har anslutit"

#, fuzzy
msgid "Sent"
msgstr "Skickat kanske"

msgid "Log out"
msgstr ""
"""


def test_a_po_catalogue_is_compiled_at_start_up(
    fresh_catalogues: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    po = tmp_path / "locale" / "sv" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(SV_PO, encoding="utf-8")
    monkeypatch.setattr(i18n, "resources", SimpleNamespace(files=lambda _package: tmp_path))

    sv = get_translations("sv")
    assert isinstance(sv, gettext.GNUTranslations)
    assert sv.gettext("Start a chat") == "Starta en chatt"
    assert sv.gettext("{name} has joined").format(name="Anna") == "Anna har anslutit"
    # A fuzzy (unreviewed) translation is never shown; nor is an empty one.
    assert sv.gettext("Sent") == "Sent"
    assert sv.gettext("Log out") == "Log out"
    # A locale without a catalogue falls back to the source text.
    assert get_translations("en").gettext("Start a chat") == "Start a chat"


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_shipped_translations_keep_the_scripts_placeholders(locale: str) -> None:
    """The page scripts fill ``{name}``-style placeholders: a translation must keep them."""

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

    translations = get_translations(locale)
    for source in {**YOUTH_STRINGS, **STAFF_STRINGS}.values():
        translated = translations.gettext(source)
        assert translated
        assert fields(translated) == fields(source), (locale, source, translated)
