"""The gettext catalogues cover every string the code and templates can show."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
LOCALES = ("sv", "en")
METHODS = [
    ("**.py", "python"),
    ("lykta/web/templates/**.html", "jinja2"),
]
OPTIONS = {"lykta/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _text(value: object) -> str:
    """A catalogue entry's text (plural entries are tuples: their singular form)."""
    if isinstance(value, (tuple, list)):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def source_msgids() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC), METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        found.add(_text(message))
    return found


SOURCE = source_msgids()


def catalogue(locale: str) -> dict[str, str]:
    path = SRC / "lykta" / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {_text(m.id): _text(m.string) for m in read_po(handle, locale=locale) if m.id}


def test_the_source_has_strings_to_translate() -> None:
    # Extraction must really find the strings, or every test below passes on nothing.
    assert "Start a chat" in SOURCE
    assert len(SOURCE) > 100


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_in_the_catalogue_and_translated(locale: str) -> None:
    entries = catalogue(locale)
    missing = sorted(SOURCE - set(entries))
    assert not missing, f"run scripts/i18n and translate: {missing[:5]}"
    untranslated = sorted(msgid for msgid in SOURCE if not entries.get(msgid))
    assert not untranslated, f"untranslated in {locale}: {untranslated[:5]}"


def test_swedish_is_really_swedish() -> None:
    swedish = catalogue("sv")
    different = [msgid for msgid in SOURCE if swedish[msgid] != msgid]
    # Names, codes and a few words stay the same; nearly everything else must differ.
    assert len(different) > 0.9 * len(SOURCE)


def test_english_is_the_source_text() -> None:
    english = catalogue("en")
    assert all(english[msgid] == msgid for msgid in SOURCE)
