"""axe-core on every page a young person or a worker sees, in light and dark mode, in
Swedish and in English: no violation of impact serious or critical (contrast included).

One browser context per language and colour scheme holds both sides: the young person's
page, and the worker's, which first shows the login and code pages and then takes the
session's cookies (TOTP codes cannot be reused)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from tests.e2e.conftest import (
    ADMIN_PAGES,
    UI,
    WORKER_EMAIL,
    WORKER_PASSWORD,
    Server,
    add_ready_reply,
)

AXE = Axe()
SERIOUS = ("serious", "critical")


class Audit:
    """Runs axe on a page in a named state and keeps what it found."""

    def __init__(self, lang: str, scheme: str) -> None:
        self.lang = lang
        self.scheme = scheme
        self.checked: list[str] = []
        self.found: list[str] = []

    def __call__(self, page: Page, what: str) -> None:
        # The page is in the language and scheme this run is about.
        expect(page.locator("html")).to_have_attribute("lang", self.lang)
        dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (self.scheme == "dark")
        self.checked.append(what)
        results = AXE.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] not in SERIOUS:
                continue
            targets = [" ".join(node["target"]) for node in violation["nodes"]]
            self.found.append(
                f"{what} [{self.lang}, {self.scheme}]: {violation['id']} "
                f"({violation['impact']}) at {targets}"
            )


@pytest.mark.e2e
@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("locale", "scheme"),
    [
        ("en-US", "light"),
        ("en-US", "dark"),
        ("sv-SE", "light"),
        ("sv-SE", "dark"),
    ],
)
def test_every_page_passes_axe(
    server: Server,
    new_page: Callable[..., Page],
    worker_session: dict[str, Any],
    ui: UI,
    locale: str,
    scheme: str,
) -> None:
    audit = Audit(locale[:2], scheme)
    add_ready_reply(server, ui.team, "thanks", "Tack för att du skrev! /{name}")

    # The young person: the landing page, an error page, the chat page before starting
    # (the demo team has no opening hours, so this is also the closed state).
    youth = new_page("/", locale=locale, color_scheme=scheme)
    audit(youth, "landing page")
    youth.goto("/chat/no-such-team")
    audit(youth, "error page")
    youth.goto("/chat/" + ui.team)
    expect(youth.get_by_test_id("closed-info")).to_be_visible()
    audit(youth, "chat page before starting, team closed")

    # The worker, in the same context: login and code pages, then the real session.
    staff = new_page("/app/login", locale=locale, color_scheme=scheme)
    context = staff.context
    audit(staff, "login page")
    staff.locator("input[type=email], input[name=email]").first.fill(WORKER_EMAIL)
    staff.locator("input[type=password]").fill(WORKER_PASSWORD)
    staff.get_by_test_id("login-submit").click()
    expect(staff).to_have_url(re.compile(r"/app/login/code$"))
    audit(staff, "login code page")
    context.add_cookies(worker_session["cookies"])
    staff.goto("/app/profile")
    audit(staff, "profile")
    for name in ADMIN_PAGES:
        staff.goto("/app/admin/" + name)
        expect(staff).to_have_url(re.compile("/app/admin/" + name + "$"))
        audit(staff, "admin page " + name)

    # A new colleague's first steps, in a browser of their own: the invitation, the
    # authenticator enrolment and the recovery codes.
    staff.goto("/app/admin/members")
    staff.locator("#invite-email").fill(f"axe-{locale}-{scheme}@demo.example".lower())
    staff.get_by_test_id("invite-button").click()
    link = staff.get_by_test_id("invite-link").input_value()
    newcomer = new_page(None, locale=locale, color_scheme=scheme)
    newcomer.goto(link)
    expect(newcomer.get_by_test_id("invite-form")).to_be_visible()
    audit(newcomer, "invitation page")
    newcomer.locator("#first_name").fill("Ny")
    newcomer.locator("#password").fill(WORKER_PASSWORD)
    newcomer.locator("#password_again").fill(WORKER_PASSWORD)
    newcomer.get_by_test_id("invite-submit").click()
    expect(newcomer).to_have_url(re.compile(r"/app/enrol$"))
    audit(newcomer, "authenticator enrolment page")
    secret = newcomer.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    newcomer.locator("#code").fill(pyotp.TOTP(secret).now())
    newcomer.get_by_test_id("enrol-submit").click()
    expect(newcomer.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    audit(newcomer, "recovery codes page")

    staff.goto("/app")
    expect(staff.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    before = ui.conversation_ids(staff)
    audit(staff, "worker app, list")

    # A chat with messages both ways, the worker's notes and ready replies open.
    youth = context.new_page()
    youth.goto("/chat/" + ui.team)
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "Hej, jag undrar en sak")
    ui.new_conversation(staff, before).click()
    staff.get_by_test_id("take").click()
    ui.send(staff, "Hej! Vad undrar du?")
    expect(ui.message(youth, "Hej! Vad undrar du?")).to_have_count(1)
    audit(youth, "chat with messages")
    staff.get_by_test_id("notes-toggle").click()
    staff.get_by_test_id("note-input").fill("Intern anteckning")
    staff.get_by_test_id("note-add").click()
    expect(staff.get_by_test_id("note")).to_have_count(1)
    staff.get_by_test_id("composer-input").fill("/th")
    expect(staff.get_by_test_id("canned-list")).to_be_visible()
    audit(staff, "worker app, conversation with notes and ready replies")
    staff.get_by_test_id("composer-input").fill("")
    staff.get_by_test_id("more").click()
    staff.get_by_test_id("handover").click()
    expect(staff.get_by_test_id("handover-dialog")).to_be_visible()
    audit(staff, "worker app, hand-over dialog")
    staff.get_by_test_id("handover-cancel").click()
    staff.get_by_test_id("close").click()
    expect(staff.get_by_test_id("close-form")).to_be_visible()
    audit(staff, "worker app, closing")
    staff.get_by_test_id("confirm-close").click()

    # The young person sees the end and the one question.
    expect(youth.get_by_test_id("feedback")).to_be_visible()
    audit(youth, "chat closed by the worker, feedback question")

    assert audit.found == [], "axe found serious or critical violations:\n" + "\n".join(audit.found)


def _rgb(css: str) -> tuple[float, float, float]:
    red, green, blue = (float(x) for x in re.findall(r"[\d.]+", css)[:3])
    return red, green, blue


def _luminance(css: str) -> float:
    def linear(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _rgb(css))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: str, other: str) -> float:
    """WCAG 2.1 contrast ratio of two computed colours (rgb() or rgba(), alpha ignored)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


COLOURS = """() => {
  const css = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
  return {
    page: css('body', 'backgroundColor'),
    header: css('header.top', 'backgroundColor'),
    field_border: css('#code', 'borderTopColor'),
    button_border: css('[data-testid=resume-submit]', 'borderTopColor'),
    primary: css('[data-testid=start]', 'backgroundColor'),
    quick_exit: css('[data-testid=quick-exit]', 'backgroundColor'),
  };
}"""
RING = """() => {
  const style = getComputedStyle(document.activeElement);
  return [style.outlineStyle, style.outlineColor];
}"""


@pytest.mark.e2e
@pytest.mark.one_backend
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_controls_and_the_focus_ring_stand_out(new_page: Callable[..., Page], scheme: str) -> None:
    """What axe does not measure: the non-text contrast of controls and of the focus ring
    against what is around them, at least 3:1 (WCAG 2.1, 1.4.11)."""
    page = new_page(color_scheme=scheme)
    colours = page.evaluate(COLOURS)
    page.keyboard.press("Tab")  # the skip link, then the language links in the header
    page.keyboard.press("Tab")
    style, ring_in_header = page.evaluate(RING)
    assert style == "solid"
    page.get_by_test_id("start").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    style, ring = page.evaluate(RING)
    assert style == "solid"
    found = {
        "focus ring on the page": contrast(ring, colours["page"]),
        "focus ring in the header": contrast(ring_in_header, colours["header"]),
        "field border": contrast(colours["field_border"], colours["page"]),
        "button border": contrast(colours["button_border"], colours["page"]),
        "primary button": contrast(colours["primary"], colours["page"]),
        "quick exit on the header": contrast(colours["quick_exit"], colours["header"]),
    }
    assert {name: round(ratio, 2) for name, ratio in found.items() if ratio < 3} == {}
