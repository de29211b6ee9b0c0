"""``/widget.js``: the one script a municipality's site includes to offer the chat.

    <script src="(this Lykta's address)/widget.js" data-team="SLUG" async></script>

The script is ``static/widget.js`` with the launcher's three labels filled in, in every
language, from the gettext catalogues; the host page's ``lang`` picks one in the browser.
Other sites must be able to load it, so it alone goes out with
``Cross-Origin-Resource-Policy: cross-origin`` (``SecurityHeaders`` adds only the headers a
response lacks), and with a short cache lifetime so an upgrade reaches host pages soon.
The chat itself is ``/chat/SLUG?embed=1`` in a frame, which only the team's own sites may
show (``frame-ancestors``, see ``web.pages.chat_page``).
"""

from __future__ import annotations

import functools
import hashlib
import json

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from lykta.config import Settings
from lykta.i18n import SUPPORTED_LOCALES
from lykta.web.render import STATIC, translate_all
from lykta.web.strings import WIDGET_STRINGS

router = APIRouter()

SOURCE = "widget.js"
PLACEHOLDER = "/*CONFIG*/ {}"
"""Where ``static/widget.js`` takes its labels; that file alone still runs (with fallbacks)."""
MAX_AGE = 600
"""Seconds a host page's visitors may reuse the script before asking again (then a 304)."""


@functools.cache
def widget_script(default_locale: str) -> tuple[bytes, str]:
    """The script with every language's labels, and its entity tag."""
    config = {
        "default": default_locale,
        "labels": {locale: translate_all(locale, WIDGET_STRINGS) for locale in SUPPORTED_LOCALES},
    }
    source = (STATIC / SOURCE).read_text(encoding="utf-8")
    if PLACEHOLDER not in source:
        raise RuntimeError(f"{SOURCE} lost its {PLACEHOLDER} placeholder")
    body = source.replace(PLACEHOLDER, json.dumps(config, ensure_ascii=True)).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def public_origin(request: Request, settings: Settings) -> str:
    """Where other sites reach this installation: the address the request came to, with
    https when the installation is served over HTTPS (behind the TLS proxy the request
    itself arrives as plain http)."""
    scheme = "https" if settings.staff_cookie_secure else request.url.scheme
    return f"{scheme}://{request.url.netloc}"


def snippet(origin: str, slug: str) -> str:
    """The line a team's site adds to its pages."""
    return (
        f'<script src="{origin}/widget.js" data-team="{slug}" '
        'referrerpolicy="no-referrer" async></script>'
    )


@router.get("/widget.js")
async def widget(request: Request) -> Response:
    """The embedding script, for any site (the team's list of sites decides where the chat
    it opens may appear)."""
    settings: Settings = request.app.state.runtime.settings
    body, etag = widget_script(settings.default_locale)
    headers = {
        "cache-control": f"public, max-age={MAX_AGE}",
        "etag": etag,
        "cross-origin-resource-policy": "cross-origin",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript", headers=headers)
