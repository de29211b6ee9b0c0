"""Before sending what looks like personal details, the young person's page asks gently.

The detector runs only in the browser (``lykta.pii`` in chat.js): it is evaluated here in
Chromium over a corpus, and the flow is driven through the page with a worker watching.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

# Valid check digits and real dates; the same numbers with a wrong digit are negatives.
# 811228-9874 is Skatteverket's test number; 701063-2383 a samordningsnummer (day 3 + 60);
# 41019012393 a D-nummer (day 1 + 40).
POSITIVES: dict[str, list[str]] = {
    "811228-9874": ["id"],
    "19811228-9874": ["id"],
    "8112289874": ["id"],
    "198112289874": ["id"],
    "811228+9874": ["id"],
    "Mitt personnummer är 811228-9874.": ["id"],
    "0803152347 är mitt nummer": ["id"],
    "samordningsnummer 701063-2383": ["id"],
    "01019012480": ["id"],
    "010190 12480": ["id"],
    "fødselsnummeret mitt er 15080749659": ["id"],
    "41019012393": ["id"],
    "070-123 45 67": ["phone"],
    "0701234567": ["phone"],
    "ring mig på 070 123 45 67": ["phone"],
    "+46 70 123 45 67": ["phone"],
    "+46701234567": ["phone"],
    "0046 70 123 45 67": ["phone"],
    "+46 (0)70-123 45 67": ["phone"],
    "073 - 987 65 43": ["phone"],
    "08-123 456 78": ["phone"],
    "031-12 34 56": ["phone"],
    "0470-123 45": ["phone"],
    "+47 912 34 567": ["phone"],
    "912 34 567": ["phone"],
    "41 23 45 67": ["phone"],
    "ring meg på 91234567": ["phone"],
    "004791234567": ["phone"],
    "anna.svensson@gmail.com": ["email"],
    "mejla mig på kalle_92@hotmail.se!": ["email"],
    "Jag bor på Storgatan 12B": ["address"],
    "Drottninggatan 5": ["address"],
    "Ekvägen 3 i Lund": ["address"],
    "Lillgränd 4": ["address"],
    "Björkstigen 7": ["address"],
    "Kungsbacken 2 A": ["address"],
    "Lindallén 14": ["address"],
    "Stortorget 3": ["address"],
    "Karl Johans gate 22": ["address"],
    "Storgata 5": ["address"],
    "Kirkeveien 64": ["address"],
    "Sandakerveien 10 a": ["address"],
    "Bjørnsons vei 3": ["address"],
    "Bakkevei 9": ["address"],
    "Fjellvegen 12": ["address"],
    "Youngstorget 1": ["address"],
    "Olaf Ryes plass 2": ["address"],
    "ring 0701234567 eller mejla anna@example.se": ["phone", "email"],
}

NEGATIVES: list[str] = [
    "811228-9875",  # wrong Luhn digit
    "8112289875",
    "19811228-9875",
    "9013321238",  # Luhn right, month 13
    "900230-1233",  # Luhn right, 30 February
    "01019012481",  # wrong mod-11 digit
    "32019012351",  # both mod-11 digits right, day 32
    "Jag är 15",
    "jag är 15 år och min bror är 17",
    "född 2008",
    "kl 19.30",
    "kl 19:30",
    "bussen går 07.15",
    "2015-2019",
    "1990-2000",
    "2024-05-01",
    "01-02-2024",
    "det kostar 4000-5000 kr",
    "45 000 kr",
    "Jag har 1 000 000 kr",
    "123 45",
    "113 13 Stockholm",
    "0150 Oslo",
    "123",
    "1234567",
    "ring 112",
    "4 5 6 7 8 9 10",
    "mellan 12 och 14",
    "sida 45",
    "Vi ses på Stortorget 19.30",
    "Jag bor på gatan 5",
    "Skolgatan",
    "följ mig @anna",
    "Hej! Jag undrar en sak",
    "Jag har 3 syskon och 2 katter",
]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(digits):
        n = int(c) * (1 if i % 2 else 2)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _mod11_ok(digits: str) -> bool:
    w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2, 1]
    w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1]
    return all(
        sum(w * int(d) for w, d in zip(ws, digits, strict=False)) % 11 == 0 for ws in (w1, w2)
    )


def test_the_corpus_numbers_are_what_they_claim() -> None:
    """Checked apart from chat.js, so that a wrong corpus cannot hide a wrong check."""
    for valid in ("8112289874", "0803152347", "7010632383", "9013321238", "9002301233"):
        assert _luhn_ok(valid), valid
    assert not _luhn_ok("8112289875")
    for valid in ("01019012480", "15080749659", "41019012393", "32019012351"):
        assert _mod11_ok(valid), valid
    assert not _mod11_ok("01019012481")


@pytest.mark.e2e
def test_detector_over_the_corpus(new_page):
    page = new_page()
    corpus: dict[str, list[str]] = {**POSITIVES, **{text: [] for text in NEGATIVES}}
    found: dict[str, list[str]] = page.evaluate(
        "texts => Object.fromEntries(texts.map(t => [t, window.lykta.pii(t)]))", list(corpus)
    )
    wrong = {text: found[text] for text, kinds in corpus.items() if found[text] != kinds}
    assert wrong == {}


@pytest.mark.e2e
def test_phone_number_waits_for_send_anyway(new_page, worker, ui):
    staff = worker()
    before = ui.conversation_ids(staff)
    sent: list[dict[str, Any]] = []
    youth = new_page(None, width=390, height=844)
    youth.on("websocket", lambda ws: ws.on("framesent", lambda p: sent.append(json.loads(p))))
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "Hej")
    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, "Hej")).to_have_count(1)

    # Enter shows the notice instead of sending; the text stays where it was.
    text = "Du kan ringa mig på 070-123 45 67"
    box = youth.get_by_test_id("composer-input")
    box.fill(text)
    box.press("Enter")
    notice = youth.get_by_test_id("pii-notice")
    expect(notice).to_be_visible()
    expect(youth.get_by_test_id("pii-text")).to_have_text(
        "It looks like your message contains a phone number. You don't have to tell us who you are."
    )
    expect(youth.get_by_test_id("pii-text")).to_have_attribute("role", "alert")
    for part in (notice, youth.get_by_test_id("pii-edit"), youth.get_by_test_id("pii-send")):
        expect(part).to_be_in_viewport(ratio=1)
    expect(youth.get_by_test_id("pii-edit")).to_be_focused()
    expect(box).to_have_value(text)
    expect(ui.message(youth, text)).to_have_count(0)
    stored = json.loads(youth.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')"))
    assert stored["outbox"] == []

    # "Edit message": back in the text, nothing lost.
    youth.get_by_test_id("pii-edit").click()
    expect(notice).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value(text)

    # Asked again on the next try; "Send anyway" is reachable by keyboard and sends it.
    box.press("Enter")
    expect(notice).to_be_visible()
    youth.keyboard.press("Tab")
    expect(youth.get_by_test_id("pii-send")).to_be_focused()
    youth.keyboard.press("Enter")
    expect(notice).to_be_hidden()
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(ui.message(youth, text).get_by_test_id("msg-status")).to_have_text("Sent")
    expect(ui.message(staff, text)).to_have_count(1)
    # The text went out once, with the send; nothing about the warning did.
    assert [f["body"] for f in sent if f["type"] == "send"] == ["Hej", text]
    assert sum(text in json.dumps(f, ensure_ascii=False) for f in sent) == 1

    # The next message is checked again.
    ui.send(youth, "min mejl är anna@example.se")
    expect(notice).to_be_visible()
    expect(youth.get_by_test_id("pii-text")).to_contain_text("e-mail address")
    youth.get_by_test_id("pii-edit").click()
    box.fill("Jag är 15 och går i nian")
    box.press("Enter")
    expect(ui.message(staff, "Jag är 15 och går i nian")).to_have_count(1)
    expect(notice).to_be_hidden()
