"""What a team starts with until its admin changes it: help numbers per country, closing
topics and outcomes, and the guidance shown on a conversation flagged at risk."""

from __future__ import annotations

from typing import Final

from lykta.i18n import N_
from lykta.teams.models import Team

HELP_NUMBERS: Final[dict[str, list[dict[str, str]]]] = {
    "se": [
        {"label": N_("Emergency: police, ambulance, fire"), "number": "112"},
        {"label": N_("BRIS, for children and young people (24/7)"), "number": "116 111"},
        {"label": N_("Mind Självmordslinjen (24/7)"), "number": "90101"},
    ],
    "no": [
        {"label": N_("Emergency"), "number": "112"},
        {"label": N_("Kors på halsen, for children and young people"), "number": "800 333 21"},
        {"label": N_("Mental Helse helpline (24/7)"), "number": "116 123"},
    ],
}
COUNTRIES: Final = tuple(HELP_NUMBERS)

TOPICS: Final[tuple[str, ...]] = (
    N_("family"),
    N_("friends"),
    N_("school"),
    N_("mental health"),
    N_("self-harm"),
    N_("substance use"),
    N_("sexuality"),
    N_("relationships"),
    N_("violence"),
    N_("crime"),
    N_("money"),
    N_("housing"),
    N_("other"),
)

OUTCOMES: Final[tuple[str, ...]] = (
    N_("advice given"),
    N_("referral"),
    N_("follow-up agreed"),
    N_("emergency contact made"),
    N_("listened"),
    N_("no contact"),
)

RISK_GUIDANCE: Final = N_(
    "This conversation contains words that can be a sign of risk. Read it carefully, "
    "ask directly and calmly how the young person is, and follow the team's routine: "
    "consult a colleague, and if life or health is in danger, call 112."
)


def help_numbers(team: Team) -> list[dict[str, str]]:
    if team.help_numbers is not None:
        return [{"label": str(n["label"]), "number": str(n["number"])} for n in team.help_numbers]
    return [dict(n) for n in HELP_NUMBERS.get(team.country, HELP_NUMBERS["se"])]


def topics(team: Team) -> list[str]:
    return list(team.topics) if team.topics else list(TOPICS)


def risk_guidance(team: Team) -> str:
    return team.risk_guidance or RISK_GUIDANCE
