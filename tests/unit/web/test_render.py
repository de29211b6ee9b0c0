"""Page rendering: autoescaping, cache-busting static URLs, translated script strings."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from lykta.web import render
from lykta.web.render import environment, static_url, static_version, translate_all


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_templates_escape_what_people_write(locale: str) -> None:
    template = environment(locale).from_string("<p>{{ body }}</p>")
    html = template.render(body='<script>alert("x")</script>&')
    assert "<script>" not in html
    assert html == "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;</p>"


def test_a_missing_template_variable_fails_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment("en").from_string("{{ nothing_here }}").render()


@pytest.mark.parametrize("name", ["chat.js", "wsclient.js", "lykta.css"])
def test_static_urls_carry_a_content_hash(name: str) -> None:
    url = static_url(name)
    match = re.fullmatch(rf"/static/{re.escape(name)}\?v=([0-9a-f]{{10}})", url)
    assert match, url


def test_static_version_changes_with_the_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path
    (folder / "a.js").write_text("one")
    (folder / "b.js").write_text("two")
    monkeypatch.setattr(render, "STATIC", folder)
    static_version.cache_clear()
    try:
        assert static_version("a.js") != static_version("b.js")
        assert static_version("missing.js") == "0"
    finally:
        static_version.cache_clear()


def test_translate_all_keeps_the_keys() -> None:
    strings = {"sent": "Sent", "failed": "Not sent: {reason}"}
    assert translate_all("en", strings) == strings
    assert set(translate_all("sv", strings)) == set(strings)
