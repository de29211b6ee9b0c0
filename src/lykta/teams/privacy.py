"""How the young person's page hides itself, per team: where quick exit leads, a neutral
tab title and icon, and the sites allowed to show the page in a frame.

``check_privacy`` validates what the admin typed; ``do_set_privacy`` writes it and
audit-logs the change (``settings.changed``, area ``privacy``) in the same transaction.
``youth_page`` is what the chat page needs to apply the settings. The address of a page
that embeds the chat is never stored: only the origins the admin typed are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from lykta.i18n import N_
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity
from lykta.teams.admin_service import AdminError, own_team, record_change
from lykta.teams.models import Team

NEUTRAL_ICONS: dict[str, str] = {
    "weather": N_("Weather (sun and cloud)"),
    "news": N_("News (a newspaper)"),
    "notes": N_("Notes (a notepad)"),
}
"""Bundled favicons (``web/static/icons/<name>.svg``) and how the admin page names them."""
EXIT_SUGGESTIONS: tuple[tuple[str, str], ...] = (
    ("https://www.smhi.se/", N_("weather")),
    ("https://www.yr.no/", N_("weather")),
    ("https://www.svt.se/", N_("news")),
)
"""Offered in the admin form; any https address is accepted."""
QUICK_EXIT_MAX = 500
TITLE_MAX = 60
MAX_ORIGINS = 20
ORIGIN_MAX = 200
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
"""Hosts that may use plain http (a developer's machine and the browser tests)."""
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_DEFAULT_PORTS = {"https": 443, "http": 80}
FIELDS = ("quick_exit_url", "neutral_title", "neutral_icon", "embed_origins")


class PrivacyError(AdminError):
    """A privacy setting was refused; the message is fit to show the admin."""


@dataclass(frozen=True)
class PrivacyForm:
    """What the admin typed (kept to fill the form again when it is refused)."""

    quick_exit_url: str = ""
    neutral_title: str = ""
    neutral_icon: str = ""
    embed_origins: str = ""
    """One origin per line."""


@dataclass(frozen=True)
class PrivacySettings:
    quick_exit_url: str | None = None
    neutral_title: str | None = None
    neutral_icon: str | None = None
    embed_origins: tuple[str, ...] = ()


def privacy_of(team: Team) -> PrivacySettings:
    return PrivacySettings(
        team.quick_exit_url,
        team.neutral_title,
        team.neutral_icon,
        tuple(team.embed_origins or ()),
    )


def form_of(settings: PrivacySettings) -> PrivacyForm:
    return PrivacyForm(
        settings.quick_exit_url or "",
        settings.neutral_title or "",
        settings.neutral_icon or "",
        "\n".join(settings.embed_origins),
    )


# ----- checks ------------------------------------------------------------------------------


def _plain(text: str) -> bool:
    return not any(c.isspace() or not c.isprintable() or c == "\\" for c in text)


def _host(parts: SplitResult) -> str | None:
    """The URL's host name in ASCII (IDN as punycode), or None when it is not one."""
    try:
        name = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if not name:
        return None
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return name if _HOST.fullmatch(name) else None


def _web_address(parts: SplitResult, host: str) -> bool:
    """https, or plain http on the local machine; no user name or password."""
    if parts.username is not None or parts.password is not None:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS)


def _port(scheme: str, port: int | None) -> int | None:
    return None if port == _DEFAULT_PORTS.get(scheme) else port


def check_quick_exit_url(text: str, own_host: str) -> str | None:
    """An absolute https address on another site; empty means the installation's default.

    ``own_host`` is the Host the admin reached Lykta at: quick exit must not lead back."""
    url = text.strip()
    if not url:
        return None
    if len(url) > QUICK_EXIT_MAX:
        raise PrivacyError(N_("The quick exit address can be at most 500 characters."))
    parts = urlsplit(url)
    host = _host(parts) if _plain(url) else None
    if host is None or not _web_address(parts, host):
        if host is not None and (parts.username is not None or parts.password is not None):
            raise PrivacyError(N_("The quick exit address must not contain a name or password."))
        raise PrivacyError(
            N_(
                "The quick exit address must be a whole web address starting with https://, "
                "for example https://www.smhi.se/."
            )
        )
    own = urlsplit("//" + own_host.strip().lower())
    try:
        own_port = own.port
    except ValueError:
        own_port = None
    if host == own.hostname and _port(parts.scheme, parts.port) == own_port:
        raise PrivacyError(N_("Quick exit must lead to another site, not back to this one."))
    return url


def check_neutral_title(text: str) -> str | None:
    title = " ".join(text.split())
    if not title:
        return None
    if len(title) > TITLE_MAX or not title.isprintable():
        raise PrivacyError(N_("The neutral title can be at most 60 characters of plain text."))
    return title


def check_neutral_icon(name: str) -> str | None:
    name = name.strip()
    if not name:
        return None
    if name not in NEUTRAL_ICONS:
        raise PrivacyError(N_("Choose one of the icons offered."))
    return name


def check_origin(text: str) -> str:
    """``scheme://host[:port]`` in canonical form (lower case, no default port)."""
    parts = urlsplit(text)
    host = _host(parts) if _plain(text) and len(text) <= ORIGIN_MAX else None
    if (
        host is None
        or not _web_address(parts, host)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or text.endswith(("?", "#"))
    ):
        raise PrivacyError(
            N_(
                "%(origin)s is not a site's address. Write https:// and the host name only, "
                "for example https://www.molndal.se."
            ),
            origin=text[:ORIGIN_MAX],
        )
    port = _port(parts.scheme, parts.port)
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def check_embed_origins(text: str) -> tuple[str, ...]:
    """One origin per line; blank lines and repeats are dropped."""
    origins: list[str] = []
    for line in text.splitlines():
        if line.strip():
            origin = check_origin(line.strip())
            if origin not in origins:
                origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise PrivacyError(N_("Give at most 20 sites."))
    return tuple(origins)


def check_privacy(form: PrivacyForm, own_host: str) -> PrivacySettings:
    return PrivacySettings(
        check_quick_exit_url(form.quick_exit_url, own_host),
        check_neutral_title(form.neutral_title),
        check_neutral_icon(form.neutral_icon),
        check_embed_origins(form.embed_origins),
    )


# ----- the change --------------------------------------------------------------------------


async def do_set_privacy(
    rt: Runtime, caller: StaffIdentity, form: PrivacyForm, own_host: str
) -> list[str]:
    """Save the checked settings; returns the names of the fields that changed."""
    new = check_privacy(form, own_host)
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        old = privacy_of(team)
        changed = [name for name in FIELDS if getattr(old, name) != getattr(new, name)]
        if not changed:
            return []
        team.quick_exit_url = new.quick_exit_url
        team.neutral_title = new.neutral_title
        team.neutral_icon = new.neutral_icon
        team.embed_origins = list(new.embed_origins) or None
        await record_change(
            session,
            caller,
            "privacy",
            "changed",
            fields=",".join(changed),
            origins=len(new.embed_origins),
        )
    return changed


# ----- the young person's page -------------------------------------------------------------


@dataclass(frozen=True)
class YouthPage:
    title: str
    icon: str | None
    """A name from ``NEUTRAL_ICONS`` (``web/static/icons/<icon>.svg``); None: no icon."""
    quick_exit_url: str
    embed_origins: tuple[str, ...]


def youth_page(team: Team, default_exit: str) -> YouthPage:
    settings = privacy_of(team)
    return YouthPage(
        title=settings.neutral_title or f"{team.name} · Lykta",
        icon=settings.neutral_icon if settings.neutral_icon in NEUTRAL_ICONS else None,
        quick_exit_url=settings.quick_exit_url or default_exit,
        embed_origins=settings.embed_origins,
    )
