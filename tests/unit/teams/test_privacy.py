"""Checking a team's privacy settings: quick exit address, neutral title and icon, the
sites allowed to embed the chat (their origins go into a CSP header)."""

from __future__ import annotations

import pytest

from lykta.teams.models import Team
from lykta.teams.privacy import (
    PrivacyError,
    check_embed_origins,
    check_neutral_icon,
    check_neutral_title,
    check_origin,
    check_quick_exit_url,
    youth_page,
)

OWN = "lykta.example.se"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.smhi.se/",
        "https://www.svt.se/nyheter/lokalt?x=1#top",
        "HTTPS://WWW.YR.NO/",
        "https://väder.example/",
        "https://lykta.example.se:8443/",  # another port is another site
        "https://other.example.se/",
        "http://127.0.0.1:8123/exit.html",  # plain http only on this machine (tests)
        "http://localhost/",
    ],
)
def test_quick_exit_urls_that_are_accepted(url: str) -> None:
    assert check_quick_exit_url(f"  {url} ", OWN) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://www.smhi.se/", "starting with https://"),
        ("www.smhi.se", "starting with https://"),
        ("/chat/demo", "starting with https://"),
        ("//www.smhi.se/", "starting with https://"),
        ("javascript:alert(1)", "starting with https://"),
        ("data:text/html,hej", "starting with https://"),
        ("ftp://www.smhi.se/", "starting with https://"),
        ("https://", "starting with https://"),
        ("https://www.smhi.se:99999/", "starting with https://"),
        ("https://www smhi.se/", "starting with https://"),
        ("https://www.smhi.se/\nSet-Cookie: x", "starting with https://"),
        ("https://evil.example\\@www.smhi.se/", "starting with https://"),
        ("https://under_score.example/", "starting with https://"),
        ("https://anna:secret@www.smhi.se/", "name or password"),
        ("https://anna@www.smhi.se/", "name or password"),
        ("https://www.smhi.se/" + "a" * 481, "at most 500"),
        ("https://lykta.example.se/", "another site"),
        ("https://LYKTA.example.se:443/chat/demo", "another site"),
    ],
)
def test_quick_exit_urls_that_are_refused(url: str, reason: str) -> None:
    with pytest.raises(PrivacyError, match=reason):
        check_quick_exit_url(url, OWN)


def test_quick_exit_must_not_lead_back_to_this_server_on_its_port() -> None:
    with pytest.raises(PrivacyError, match="another site"):
        check_quick_exit_url("http://127.0.0.1:8000/", "127.0.0.1:8000")
    assert check_quick_exit_url("http://127.0.0.1:8001/", "127.0.0.1:8000")
    assert check_quick_exit_url("", OWN) is None


def test_neutral_title_and_icon() -> None:
    assert check_neutral_title("  Väder   i  dag ") == "Väder i dag"
    assert check_neutral_title("   ") is None
    assert check_neutral_title("x" * 60) == "x" * 60
    for bad in ("x" * 61, "Väder\x00", "Väder\u202e"):
        with pytest.raises(PrivacyError, match="60 characters"):
            check_neutral_title(bad)
    assert check_neutral_icon("weather") == "weather"
    assert check_neutral_icon("") is None
    for bad in ("skull", "../app", "Weather"):
        with pytest.raises(PrivacyError, match="icons offered"):
            check_neutral_icon(bad)


@pytest.mark.parametrize(
    ("typed", "origin"),
    [
        ("https://www.molndal.se", "https://www.molndal.se"),
        ("https://www.molndal.se/", "https://www.molndal.se"),
        ("HTTPS://WWW.Molndal.SE", "https://www.molndal.se"),
        ("https://www.molndal.se:443", "https://www.molndal.se"),
        ("https://www.molndal.se:8443", "https://www.molndal.se:8443"),
        ("https://mölndal.example", "https://xn--mlndal-wxa.example"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://localhost:80", "http://localhost"),
    ],
)
def test_origins_are_made_canonical(typed: str, origin: str) -> None:
    assert check_origin(typed) == origin


@pytest.mark.parametrize(
    "typed",
    [
        "http://www.molndal.se",
        "https://www.molndal.se/chatt",
        "https://www.molndal.se/?x",
        "https://www.molndal.se#x",
        "https://www.molndal.se?",
        "www.molndal.se",
        "https://*.molndal.se",
        "*",
        "'self'",
        "'none'",
        "https://www.molndal.se; script-src *",
        "https://www.molndal.se https://evil.example",
        "https://a@www.molndal.se",
        "https://[::1]:8000",
        "data:",
        "https://" + "a" * 200 + ".se",
    ],
)
def test_origins_that_are_refused(typed: str) -> None:
    with pytest.raises(PrivacyError, match="not a site's address"):
        check_origin(typed)


def test_origin_lists() -> None:
    text = "https://www.molndal.se\n\n  https://WWW.molndal.se/ \r\nhttps://skola.example\n"
    assert check_embed_origins(text) == ("https://www.molndal.se", "https://skola.example")
    assert check_embed_origins("") == ()
    twenty = "\n".join(f"https://s{i}.example" for i in range(20))
    assert len(check_embed_origins(twenty)) == 20
    with pytest.raises(PrivacyError, match="at most 20"):
        check_embed_origins(twenty + "\nhttps://s20.example")


def test_the_youth_page_falls_back_to_the_defaults() -> None:
    team = Team(slug="demo", name="Fältgruppen")
    plain = youth_page(team, "https://www.smhi.se/")
    assert (plain.title, plain.icon, plain.quick_exit_url) == (
        "Fältgruppen · Lykta",
        None,
        "https://www.smhi.se/",
    )
    assert plain.embed_origins == ()
    team.neutral_title, team.neutral_icon = "Väder", "weather"
    team.quick_exit_url, team.embed_origins = "https://www.yr.no/", ["https://www.molndal.se"]
    hidden = youth_page(team, "https://www.smhi.se/")
    assert (hidden.title, hidden.icon, hidden.quick_exit_url) == (
        "Väder",
        "weather",
        "https://www.yr.no/",
    )
    assert hidden.embed_origins == ("https://www.molndal.se",)
    team.neutral_icon = "removed-in-an-upgrade"
    assert youth_page(team, "https://www.smhi.se/").icon is None
