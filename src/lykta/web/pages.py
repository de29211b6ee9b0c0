"""Public pages: the landing page, the young person's chat page, error pages."""

from __future__ import annotations

import zoneinfo

from babel.dates import format_datetime
from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from lykta.config import MAX_MESSAGE_LENGTH
from lykta.i18n import N_, negotiate
from lykta.runtime import Runtime
from lykta.teams import defaults
from lykta.teams.privacy import youth_page
from lykta.teams.service import get_team_by_slug
from lykta.web.render import render, static_url, translate, translate_all
from lykta.web.security import framing_headers
from lykta.web.strings import YOUTH_STRINGS

router = APIRouter()

NO_STORE = {"cache-control": "no-store"}

ERROR_TEXTS = {
    403: (N_("Not for you"), N_("Your role in the team does not give access to this page.")),
    404: (N_("Page not found"), N_("There is nothing here. Check the address and try again.")),
    405: (N_("Not allowed"), N_("That cannot be done here.")),
    500: (N_("Something went wrong"), N_("Try again in a moment.")),
}


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def request_locale(request: Request, default: str | None = None) -> str:
    rt = runtime(request)
    return negotiate(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        default or rt.settings.default_locale,
    )


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    return render(request, request_locale(request), "index.html", headers=NO_STORE)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/chat/{slug}", response_class=HTMLResponse)
async def chat_page(request: Request, slug: str) -> Response:
    rt = runtime(request)
    async with rt.db.read() as session:
        team = await get_team_by_slug(session, slug)
    if team is None:
        raise HTTPException(status_code=404)
    locale = request_locale(request, team.default_locale)
    status = await rt.teams.status(team.id)
    next_opening = None
    if status.next_opening is not None:
        next_opening = format_datetime(
            status.next_opening.astimezone(zoneinfo.ZoneInfo(team.timezone)),
            "EEEE d MMMM HH:mm",
            locale=locale,
        )
    numbers = [
        {"label": translate(locale, n["label"]), "number": n["number"]}
        for n in defaults.help_numbers(team)
    ]
    shown = youth_page(team, rt.settings.quick_exit_url)
    # In the frame /widget.js opens; the page is the same, it only talks to the widget.
    embed = request.query_params.get("embed") == "1"
    config = {
        "team": team.slug,
        "max_length": MAX_MESSAGE_LENGTH,
        "quick_exit_url": shown.quick_exit_url,
        "open": status.open,
        "embed": embed,
    }
    return render(
        request,
        locale,
        "chat.html",
        {
            "team_slug": team.slug,
            "team_name": team.name,
            "max_length": MAX_MESSAGE_LENGTH,
            "quick_exit_url": shown.quick_exit_url,
            "page_title": shown.title,
            "icon_url": static_url(f"icons/{shown.icon}.svg") if shown.icon else None,
            "strings": translate_all(locale, YOUTH_STRINGS),
            "config": config,
            "team_open": status.open,
            "next_opening": next_opening,
            "help_numbers": numbers,
            "embed": embed,
        },
        # Only the sites the team named may show this page in a frame.
        headers={**NO_STORE, **framing_headers(shown.embed_origins)},
    )


def error_page(request: Request, status_code: int) -> Response:
    title, message = ERROR_TEXTS.get(status_code, ERROR_TEXTS[500])
    locale = request_locale(request)
    return render(
        request,
        locale,
        "error.html",
        {
            "status": status_code,
            "title": translate(locale, title),
            "message": translate(locale, message),
        },
        status_code=status_code,
        headers=NO_STORE,
    )
