"""Risk word lists: normalising, parsing, matching, team additions and the index."""

from __future__ import annotations

from importlib import resources

import pytest

from lykta.risk import (
    CATEGORIES,
    LANGUAGES,
    WordList,
    load_builtin,
    normalise,
    parse_lines,
    parse_pattern,
)


@pytest.fixture(scope="module")
def builtin() -> WordList:
    return load_builtin()


def words_of(text: str) -> WordList:
    """A one-pattern list, for testing the matching rules in isolation."""
    return WordList([parse_pattern("suicide", text)])


# Talk about others ("tog livet av sig") fires on purpose: workers want to see it.
POSITIVES = [
    # Swedish
    ("sv", "jag vill bara dö", "suicide"),
    ("sv", "Jag vill inte leva längre.", "suicide"),
    ("sv", "tänker ta livet av mig ikväll", "suicide"),
    ("sv", "jag tar livet av mig snart", "suicide"),
    ("sv", "har haft självmordstankar hela veckan", "suicide"),
    ("sv", "min kompis tog livet av sig förra året", "suicide"),
    ("sv", "ibland vill jag hänga mig", "suicide"),
    ("sv", "alla skulle ha det bättre utan mig", "suicide"),
    ("sv", "jag skär mig när det blir för mycket", "self_harm"),
    ("sv", "har börjat cutta igen", "self_harm"),
    ("sv", "jag cuttar mig på armarna", "self_harm"),
    ("sv", "jag vill skada mig själv", "self_harm"),
    ("sv", "pappa slår mig när han är full", "violence"),
    ("sv", "han slår mig", "violence"),
    ("sv", "min styvpappa misshandlar mamma", "violence"),
    ("sv", "de hotade mig efter skolan", "violence"),
    ("sv", "hon slog mig i ansiktet", "violence"),
    ("sv", "han tafsar på mig på bussen", "abuse"),
    ("sv", "han våldtog mig på festen", "abuse"),
    ("sv", "jag blev utsatt för en våldtäkt", "abuse"),
    ("sv", "han tvingar mig att skicka bilder", "abuse"),
    ("sv", "de vill gifta bort mig i sommar", "abuse"),
    ("sv", "en kille hotar att sprida mina nakenbilder", "abuse"),
    # Norwegian, bokmål and nynorsk
    ("no", "jeg vil bare dø", "suicide"),
    ("no", "jeg vil ikke leve lenger", "suicide"),
    ("no", "eg vil ikkje leve meir", "suicide"),
    ("no", "har tenkt på å ta livet mitt", "suicide"),
    ("no", "jeg har selvmordstanker", "suicide"),
    ("no", "tenker på å ta livet av meg", "suicide"),
    ("no", "jeg kutter meg når jeg er lei meg", "self_harm"),
    ("no", "jeg skader meg selv", "self_harm"),
    ("no", "eg skadar meg sjølv", "self_harm"),
    ("no", "holder på med selvskading", "self_harm"),
    ("no", "faren min slår meg", "violence"),
    ("no", "han har slått meg flere ganger", "violence"),
    ("no", "stefaren min mishandler mamma", "violence"),
    ("no", "jeg ble voldtatt", "abuse"),
    ("no", "treneren tafser på meg", "abuse"),
    ("no", "det var en voldtekt", "abuse"),
    ("no", "han tvinger meg til å sende bilder", "abuse"),
    # English
    ("en", "i want to kill myself", "suicide"),
    ("en", "kms", "suicide"),
    ("en", "honestly i just want to die", "suicide"),
    ("en", "i've been having suicidal thoughts", "suicide"),
    ("en", "i don't want to live anymore", "suicide"),
    ("en", "i cut myself again last night", "self_harm"),
    ("en", "i self harm when i'm stressed", "self_harm"),
    ("en", "i hurt myself on purpose", "self_harm"),
    ("en", "he hits me when he's drunk", "violence"),
    ("en", "my dad beats me", "violence"),
    ("en", "my stepdad beat me up", "violence"),
    ("en", "he raped me", "abuse"),
    ("en", "my uncle touches me", "abuse"),
    ("en", "he keeps asking me to send nudes", "abuse"),
    ("en", "i was sexually abused", "abuse"),
]


@pytest.mark.parametrize(("language", "text", "category"), POSITIVES)
def test_realistic_sentences_fire(builtin: WordList, language: str, text: str, category: str):
    assert category in builtin.match(text)
    assert category in load_builtin([language]).match(text)  # the language's own list


def test_every_category_fires_in_every_language():
    covered = {(language, category) for language, _, category in POSITIVES}
    assert covered == {(language, category) for language in LANGUAGES for category in CATEGORIES}
    for language in LANGUAGES:
        assert sum(1 for entry in POSITIVES if entry[0] == language) >= 8


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("självmordsförsök", "suicide"),
        ("sjalvmord", "suicide"),
        ("sjävmord", "suicide"),
        ("självmoooooord", "suicide"),
        ("vill dööö", "suicide"),
        ("VILL DÖÖÖÖÖ!!!", "suicide"),
        ("jag villlll dö", "suicide"),
        ("jag vil dö", "suicide"),
        ("s3lvmord", "suicide"),
        ("5elvmord", "suicide"),
        ("k1ll mys3lf", "suicide"),
        ("$uicide", "suicide"),
        ("jag vill ta livet av mej", "suicide"),
        ("wanna die", "suicide"),
        ("wana die", "suicide"),
        ("sucide", "suicide"),
        ("självskadebeteende", "self_harm"),
        ("cuttade", "self_harm"),
        ("self-harming", "self_harm"),
        ("cutting myself", "self_harm"),
        ("kuttet meg", "self_harm"),
        ("han misshandlade mig", "violence"),
        ("jag blev misshandlad", "violence"),
        ("han mishandlet meg", "violence"),
        ("han misshandlet meg", "violence"),
        ("jag blev våldtagen", "abuse"),
        ("han tafsade", "abuse"),
        ("han voldtok meg", "abuse"),
        ("hon blev v@ldtagen", "abuse"),
        ("he rap3d me", "abuse"),
    ],
)
def test_inflections_misspellings_and_texting_fire(builtin: WordList, text: str, category: str):
    assert category in builtin.match(text)


NEGATIVES = [
    # must not fire (from the brief)
    "jag dog av skratt",
    "jag dör av skratt",
    "filmen var mördande tråkig",
    "the killer app",
    "vi slår ihop grupperna",
    "I could kill for a pizza",
    # everyday talk that shares words with the lists
    "vill du hänga med mig efter skolan",
    "jag tar på mig jackan",
    "det slog mig att jag glömt nyckeln",
    "jag slog mig ner på bänken",
    "mamma tjatar om skärmtid för mig",
    "han gjorde slut med mig igår",
    "jag orkar inte plugga mer",
    "vi ska skjuta upp provet",
    "det var en kniv i köket",
    "jeg døde av latter",
    "det slo meg at jeg hadde glemt det",
    "han slo opp med meg",
    "vil du henge med meg i helga",
    "jeg tok på meg jakka",
    "vi slår sammen klassene",
    "de kuttet ned på bussene",
    "det er ingen vits å gå på festen",
    "beats me, no idea",
    "my mom is gonna kill me if I fail",
    "this homework is killing me",
    "I died laughing",
    "I cut my hair myself",
    "can you hit me up later",
    "we played fifa and he destroyed me",
    "i ran 2024 metres",
    "",
    "!!! ??? ...",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_talk_does_not_fire(builtin: WordList, text: str):
    assert builtin.match(text) == set()
    assert builtin.explain(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jag VILL dö!", ["jag", "vill", "dö"]),
        ("dööööö", ["dö"]),
        ("Åsa ÄR Ö, æøå ÆØÅ", ["åsa", "är", "ö", "æøå", "æøå"]),
        ("ＫＭＳ", ["kms"]),  # full-width letters, NFKC
        ("a\u0308r", ["är"]),  # combining diaeresis composes
        ("s3lvm0rd k1ll 4ever @nna $kit", ["selvmord", "kill", "aever", "anna", "skit"]),
        ("2024 och 10 000 kr", ["2024", "och", "10", "000", "kr"]),
        ("hej,då...vi/ses snake_case", ["hej", "då", "vi", "ses", "snake", "case"]),
        ("don't", ["don", "t"]),
        ("$$$ @ !!! 111", ["111"]),
        ("helloooo  zzz aaa", ["hello", "z", "a"]),
        ("", []),
    ],
)
def test_normalise(text: str, expected: list[str]):
    assert normalise(text) == expected


def test_at_most_two_words_between():
    wordlist = words_of("alfa beta")
    assert wordlist.match("alfa beta") == {"suicide"}
    assert wordlist.match("alfa x beta") == {"suicide"}
    assert wordlist.match("x alfa x y beta x") == {"suicide"}
    assert wordlist.match("alfa x y z beta") == set()
    assert wordlist.match("beta alfa") == set()  # order matters


def test_gap_applies_between_each_pair_and_backtracks():
    wordlist = words_of("alfa beta gamma")
    assert wordlist.match("alfa x y beta x y gamma") == {"suicide"}
    assert wordlist.match("alfa x y beta x y z gamma") == set()
    # the first "beta" is too far from "gamma", the second one is not
    assert wordlist.match("alfa beta beta x x gamma") == {"suicide"}


def test_words_before_the_anchor_are_checked_backwards():
    wordlist = words_of("ab längstaord cd")  # the index holds the longest word
    assert wordlist.match("ab x längstaord y cd") == {"suicide"}
    assert wordlist.match("längstaord ab cd") == set()
    assert wordlist.match("ab x y z längstaord cd") == set()


def test_quoted_pattern_is_an_exact_phrase():
    wordlist = words_of('"hänga mig"')
    assert wordlist.match("jag ska hänga mig") == {"suicide"}
    assert wordlist.match("vill du hänga med mig") == set()


def test_star_matches_any_ending_only_at_word_start():
    wordlist = words_of("självmord*")
    assert wordlist.match("självmord") == {"suicide"}
    assert wordlist.match("självmordstankar") == {"suicide"}
    assert wordlist.match("antisjälvmord") == set()


def test_doubled_letters_in_a_pattern_match_single_letters_not_the_reverse():
    assert words_of("vill dö").match("vil dö") == {"suicide"}
    assert words_of("vil dø").match("vill dø") == set()


def test_third_person_fires():
    assert load_builtin(["sv"]).match("hon tog livet av sig") == {"suicide"}


def test_match_returns_every_category_hit(builtin: WordList):
    text = "pappa slår mig och jag vill dö, jag skär mig och han våldtog mig"
    assert builtin.match(text) == set(CATEGORIES)
    assert {str(p) for p in builtin.explain(text)} >= {"vill dö", '"skär mig"', "våldt*"}


def test_explain_names_the_source_line(builtin: WordList):
    (pattern,) = builtin.explain("självmord")
    assert pattern.source.startswith("sv.txt:")
    assert str(pattern) == "självmord*"


def test_parse_lines_skips_comments_and_blank_lines():
    lines = [
        "# header",
        "",
        "suicide\tvill dö",
        "  Self_Harm   cutta*   # texting form",
        'abuse "tvingar mig"',
    ]
    entries = parse_lines(lines, "test.txt")
    assert [(e.category, str(e), e.source) for e in entries] == [
        ("suicide", "vill dö", "test.txt:3"),
        ("self_harm", "cutta*", "test.txt:4"),
        ("abuse", '"tvingar mig"', "test.txt:5"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("suicidal vill dö", "unknown category 'suicidal'"),
        ("suicide", "expected 'category pattern'"),
        ("suicide själv*mord", "'*' may only end a word"),
        ("suicide ab*", "at least 3 letters"),
        ('suicide vill "dö"', "quote the whole pattern"),
        ("suicide !!! ???", "no letters or digits"),
        ('suicide ""', "empty pattern"),
    ],
)
def test_parse_errors_name_file_and_line(line: str, message: str):
    with pytest.raises(ValueError, match=r"^mine\.txt:3: ") as info:
        parse_lines(["# ok", "violence slår mig", line], "mine.txt")
    assert message in str(info.value)


def test_team_extension_adds_patterns_that_fire():
    wordlist = load_builtin()
    before = len(wordlist)
    assert wordlist.match("han är min sugardaddy") == set()
    wordlist.extend([("abuse", "sugardadd*"), ("violence", '"tar mina pengar"')])
    assert len(wordlist) == before + 2
    assert wordlist.match("han är min sugardaddy") == {"abuse"}
    assert wordlist.match("de tar mina pengar varje dag") == {"violence"}
    assert load_builtin().match("han är min sugardaddy") == set()  # others are unaffected


def test_team_extension_is_validated_and_all_or_nothing():
    wordlist = load_builtin()
    before = len(wordlist)
    with pytest.raises(ValueError, match="unknown category"):
        wordlist.extend([("abuse", "sugardadd*"), ("bullying", "mobbar mig")])
    with pytest.raises(ValueError, match="at least 3 letters"):
        wordlist.extend([("abuse", "x*")])
    assert len(wordlist) == before
    assert wordlist.match("han är min sugardaddy") == set()


def test_duplicates_are_ignored():
    wordlist = WordList([parse_pattern("suicide", "vill dö")])
    wordlist.extend([("suicide", "Vill  DÖ"), ("violence", "vill dö")])
    assert len(wordlist) == 2  # the same words in another category are a different entry


def test_load_builtin_languages():
    assert load_builtin(["en"]).match("jag vill dö") == set()
    assert load_builtin(["sv", "en"]).match("jag vill dö") == {"suicide"}
    with pytest.raises(ValueError, match="no word list for de"):
        load_builtin(["de"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_shipped_file_parses_without_duplicates(language: str):
    name = f"{language}.txt"
    text = (resources.files("lykta.risk") / "wordlists" / name).read_text(encoding="utf-8")
    assert text.startswith("# Lykta risk word list")
    entries = parse_lines(text.splitlines(), name)
    assert 60 <= len(entries) <= 150
    assert len(set(entries)) == len(entries)
    assert {entry.category for entry in entries} == set(CATEGORIES)
    assert load_builtin(language).patterns == tuple(entries)


def test_empty_input_parses_to_nothing():
    assert parse_lines(["", "   ", "# only a comment"], "empty.txt") == []
    assert len(WordList()) == 0
    assert WordList().match("jag vill dö") == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shipped_pattern_fires_on_its_own_words(language: str):
    wordlist = load_builtin([language])
    for pattern in wordlist.patterns:
        text = " ".join(word.text for word in pattern.words)
        assert pattern.category in wordlist.match(text), pattern.source
        assert parse_pattern(pattern.category, str(pattern)) == pattern, pattern.source


ORDINARY = (
    "Hej! Jag har haft en jobbig vecka i skolan, mamma tjatar om läxor och vi ska på "
    "fotboll sen. Vill du följa med till stan på lördag? Jag tänker köpa nya skor. "
    "Hey, long day at school and my mum wants me to tidy my room before dinner. "
    "Hei! Jeg har hatt en lang uke, og vi skal på kino etterpå med broren min. "
)


def test_index_means_few_pattern_checks(builtin: WordList):
    wordlist = builtin.copy()
    message = (ORDINARY * 20)[:4000]
    assert len(normalise(message)) > 600
    assert wordlist.match(message) == set()
    assert wordlist.checks == 0  # no word in it anchors a pattern whose other words occur

    # a message full of anchor words still examines only the patterns they anchor
    wordlist.checks = 0
    message = "vill du hänga med mig " * 20
    assert wordlist.match(message) == set()
    assert 0 < wordlist.checks <= 3 * 20
    assert wordlist.checks < len(wordlist) * 20  # a scan of every pattern at every word


def test_a_hit_examines_only_patterns_anchored_by_its_words(builtin: WordList):
    wordlist = builtin.copy()
    message = (ORDINARY * 20)[:4000] + " jag vill dö"
    assert wordlist.match(message) == {"suicide"}
    # "vill dö" at each "vill" and "tänker dö" at each "tänker", now that "dö" occurs
    occurrences = normalise(message).count("vill") + normalise(message).count("tänker")
    assert 0 < wordlist.checks <= occurrences
    assert occurrences < 50 < len(wordlist)
