"""The installable worker app: its manifest, its service worker and the offline page.

The service worker is served from ``/app/sw.js`` with ``Service-Worker-Allowed: /app`` and
registered with the scope ``/app``: the worker app's own address is ``/app``, without a
slash, which the default scope of a script under ``/app/`` (``/app/``) would not cover.

It caches the app shell only (the static files of the pages, the icon and the offline
page) and nothing the server renders for a worker: ``/app`` itself holds the worker's name
and CSRF token, and conversations arrive over the socket, never in a page. The list of
what it caches is written into the script here, with a version made from the content of
all of it, so that any change to the shell gives a new script, which the browser installs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from lykta import __version__
from lykta.i18n import N_
from lykta.web.openapi import LANG
from lykta.web.pages import request_locale
from lykta.web.render import STATIC, TEMPLATES, render, static_url, static_version, translate

router = APIRouter(prefix="/app")

SCOPE = "/app"
THEME_COLOUR = "#f6f3ee"  # the header (--card in lykta.css)
BACKGROUND_COLOUR = "#ffffff"  # the page (--bg)
DESCRIPTION = N_("The team's chats with young people, on your phone.")
REVALIDATE = {"cache-control": "no-cache"}

MODULES = ("wsclient.js", "push.js")
"""Modules ``app.js`` imports by relative URL (without ``?v=``): cached under that URL."""
ICONS = (
    {"src": "icons/app-192.png", "sizes": "192x192", "purpose": "any"},
    {"src": "icons/app-512.png", "sizes": "512x512", "purpose": "any"},
    {"src": "icons/app-maskable-512.png", "sizes": "512x512", "purpose": "maskable"},
)
NOTIFICATION_ICON = "icons/app-192.png"
NOTIFICATION_BADGE = "icons/app-badge-96.png"  # the status bar's: white on transparent
PLACEHOLDERS = ('["__SHELL__"]', '"__VERSION__"', '"__ICON__"', '"__BADGE__"', '"__OFFLINE__"')


def offline_url(locale: str) -> str:
    return f"{SCOPE}/offline?lang={locale}"


def shell(locale: str) -> list[str]:
    """Every URL the service worker keeps, in the worker's language."""
    return [
        static_url("lykta.css"),
        static_url("app.js"),
        *(f"/static/{name}" for name in MODULES),
        static_url("offline.js"),
        static_url(NOTIFICATION_ICON),
        static_url(NOTIFICATION_BADGE),
        offline_url(locale),
    ]


@functools.cache
def service_worker(locale: str) -> str:
    """``static/sw.js`` with its shell, version, icon and offline page filled in."""
    script = (STATIC / "sw.js").read_text(encoding="utf-8")
    urls = shell(locale)
    digest = hashlib.sha256(script.encode())
    # The modules are cached without their hash, the offline page is rendered: their
    # content must still change the version.
    for part in (
        __version__,
        *urls,
        *(static_version(name) for name in MODULES),
        (TEMPLATES / "offline.html").read_text(encoding="utf-8"),
    ):
        digest.update(b"\0" + part.encode())
    values = (
        json.dumps(urls),
        json.dumps(f"lykta-shell-{digest.hexdigest()[:12]}"),
        json.dumps(static_url(NOTIFICATION_ICON)),
        json.dumps(static_url(NOTIFICATION_BADGE)),
        json.dumps(offline_url(locale)),
    )
    for placeholder, value in zip(PLACEHOLDERS, values, strict=True):
        if script.count(placeholder) != 1:
            raise RuntimeError(f"static/sw.js must contain {placeholder} exactly once")
        script = script.replace(placeholder, value)
    return script


def manifest(locale: str) -> dict[str, Any]:
    return {
        "id": SCOPE,
        "name": "Lykta",
        "short_name": "Lykta",
        "description": translate(locale, DESCRIPTION),
        "lang": locale,
        "dir": "ltr",
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [{**icon, "src": static_url(icon["src"]), "type": "image/png"} for icon in ICONS],
    }


@router.get(
    "/manifest.webmanifest",
    response_class=Response,
    responses={
        200: {"description": "The web app manifest", "content": {"application/manifest+json": {}}}
    },
    openapi_extra={"parameters": [LANG]},
)
async def web_app_manifest(request: Request) -> Response:
    """The worker app's web app manifest, in the language asked for (``lang``)."""
    body = json.dumps(manifest(request_locale(request)), ensure_ascii=False)
    return Response(body, media_type="application/manifest+json", headers=REVALIDATE)


@router.get(
    "/sw.js",
    response_class=Response,
    responses={200: {"description": "The service worker", "content": {"text/javascript": {}}}},
    openapi_extra={"parameters": [LANG]},
)
async def service_worker_script(request: Request) -> Response:
    """The worker app's service worker; its offline page is in the language asked for."""
    headers = {**REVALIDATE, "service-worker-allowed": SCOPE}
    return Response(
        service_worker(request_locale(request)), media_type="text/javascript", headers=headers
    )


@router.get("/offline", response_class=HTMLResponse)
async def offline_page(request: Request) -> Response:
    """What the service worker shows when a worker page cannot be loaded."""
    return render(request, request_locale(request), "offline.html", headers=REVALIDATE)
