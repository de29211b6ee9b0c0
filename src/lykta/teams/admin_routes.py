"""Team admin pages for the worker's day: opening hours, help numbers, closing topics, ready
replies, risk words and guidance, blocks and block time.

Every page needs the admin role; every POST passes the CSRF check, then redirects back
(POST-redirect-GET) or shows the page again with status 400 and the reason. Every id is
looked up through an ``access_*`` function: another team's id is a 404, like a missing one.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from babel.dates import format_date, format_datetime, get_day_names
from fastapi import APIRouter, Depends, Form
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta import risk
from lykta.errors import UserError
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity
from lykta.staff.web import RowId, checked, current_admin, page
from lykta.teams import admin_content as content
from lykta.teams import admin_service as admin
from lykta.teams import defaults
from lykta.teams.models import Team
from lykta.web.pages import NO_STORE, request_locale, runtime
from lykta.web.render import translate

router = APIRouter(prefix="/app/admin")
Admin = Annotated[StaffIdentity, Depends(current_admin)]
Text = Annotated[str, Form(max_length=1000)]
LongText = Annotated[str, Form(max_length=20_000)]
Rows = Annotated[list[str] | None, Form()]
HELP_FORM_ROWS = 10
LOCAL_TIME = "EEEE d MMMM HH:mm"


def _saved(url: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?saved=1", status_code=303, headers=NO_STORE)


async def _act(
    request: Request,
    action: Callable[[Runtime], Awaitable[object]],
    back: str,
    again: Callable[[UserError], Awaitable[Response]],
) -> Response:
    """CSRF check, the change, then back to the page; the page again (400) if refused."""
    rt = await checked(request)
    try:
        await action(rt)
    except admin.ItemNotFound:
        raise HTTPException(status_code=404) from None
    except UserError as exc:
        return await again(exc)
    return _saved(back)


def _show(
    request: Request,
    caller: StaffIdentity,
    template: str,
    context: dict[str, Any],
    error: UserError | None,
) -> Response:
    locale = request_locale(request)
    values = {
        "error": error.translated(locale) if error else None,
        "saved": error is None and request.query_params.get("saved") == "1",
        **context,
    }
    return page(request, template, values, caller=caller, status_code=400 if error else 200)


def _local(moment: dt.datetime, team: Team, locale: str) -> str:
    return format_datetime(
        moment.astimezone(zoneinfo.ZoneInfo(team.timezone)), LOCAL_TIME, locale=locale
    )


def _weekdays(locale: str) -> list[str]:
    names = get_day_names("wide", locale=locale)
    return [str(names[day])[:1].upper() + str(names[day])[1:] for day in range(7)]


# ----- opening hours -----------------------------------------------------------------------


async def _hours_page(
    request: Request,
    caller: StaffIdentity,
    error: UserError | None = None,
    *,
    period: dict[str, str] | None = None,
    exception: admin.NewException | None = None,
) -> Response:
    rt, locale = runtime(request), request_locale(request)
    team = await admin.team_of(rt, caller)
    status = await rt.teams.status(team.id, fresh=True)
    exceptions = [
        {
            "id": e.id,
            "day": format_date(e.day, "EEEE d MMMM y", locale=locale),
            "hours": None if e.opens is None else f"{e.opens}–{e.closes}",
            "label": e.label,
            "past": e.past,
        }
        for e in await admin.list_exceptions(rt, caller)
    ]
    context = {
        "zone": team.timezone,
        "weekdays": _weekdays(locale),
        "periods": await admin.list_periods(rt, caller),
        "exceptions": exceptions,
        "status": status,
        "next_opening": _local(status.next_opening, team, locale) if status.next_opening else None,
        "period_form": period or {"weekday": "0", "opens": "", "closes": ""},
        "exception_form": exception or admin.NewException(),
        "today": admin.local_today(team).isoformat(),
    }
    return _show(request, caller, "admin_hours.html", context, error)


@router.get("/hours", response_class=HTMLResponse)
async def hours_page(request: Request, caller: Admin) -> Response:
    return await _hours_page(request, caller)


@router.post("/hours/periods", response_class=HTMLResponse)
async def add_period(
    request: Request, caller: Admin, weekday: Text = "", opens: Text = "", closes: Text = ""
) -> Response:
    day = admin.whole_number(weekday)
    form = {"weekday": weekday, "opens": opens, "closes": closes}
    return await _act(
        request,
        lambda rt: admin.do_add_period(rt, caller, -1 if day is None else day, opens, closes),
        "/app/admin/hours",
        lambda exc: _hours_page(request, caller, exc, period=form),
    )


@router.post("/hours/periods/{period_id}/delete")
async def remove_period(request: Request, caller: Admin, period_id: RowId) -> Response:
    return await _act(
        request,
        lambda rt: admin.do_remove_period(rt, caller, period_id),
        "/app/admin/hours",
        lambda exc: _hours_page(request, caller, exc),
    )


@router.post("/hours/exceptions", response_class=HTMLResponse)
async def add_exception(
    request: Request,
    caller: Admin,
    day: Text = "",
    kind: Text = "",
    label: Text = "",
    opens: Text = "",
    closes: Text = "",
) -> Response:
    new = admin.NewException(day, kind != "hours", opens, closes, label)
    return await _act(
        request,
        lambda rt: admin.do_add_exception(rt, caller, new),
        "/app/admin/hours",
        lambda exc: _hours_page(request, caller, exc, exception=new),
    )


@router.post("/hours/exceptions/{exception_id}/delete")
async def remove_exception(request: Request, caller: Admin, exception_id: RowId) -> Response:
    return await _act(
        request,
        lambda rt: admin.do_remove_exception(rt, caller, exception_id),
        "/app/admin/hours",
        lambda exc: _hours_page(request, caller, exc),
    )


# ----- help numbers ------------------------------------------------------------------------


async def _help_page(
    request: Request,
    caller: StaffIdentity,
    error: UserError | None = None,
    rows: list[admin.HelpRow] | None = None,
) -> Response:
    rt, locale = runtime(request), request_locale(request)
    team = await admin.team_of(rt, caller)
    current = [
        admin.HelpRow(translate(locale, n["label"]), n["number"])
        for n in defaults.help_numbers(team)
    ]
    shown = list(rows if rows is not None else current)
    shown += [admin.HelpRow("", "")] * max(0, HELP_FORM_ROWS - len(shown))
    context = {
        "numbers": current,
        "rows": shown,
        "is_default": team.help_numbers is None,
        "country": team.country,
    }
    return _show(request, caller, "admin_help.html", context, error)


@router.get("/help", response_class=HTMLResponse)
async def help_page(request: Request, caller: Admin) -> Response:
    return await _help_page(request, caller)


@router.post("/help", response_class=HTMLResponse)
async def save_help(
    request: Request,
    caller: Admin,
    label: Rows = None,
    number: Rows = None,
    position: Rows = None,
) -> Response:
    labels, numbers, positions = label or [], number or [], position or []
    count = max(len(labels), len(numbers))
    rows = [
        admin.HelpRow(
            labels[i] if i < len(labels) else "",
            numbers[i] if i < len(numbers) else "",
            positions[i] if i < len(positions) else "",
        )
        for i in range(min(count, 50))
    ]
    return await _act(
        request,
        lambda rt: admin.do_set_help_numbers(rt, caller, rows),
        "/app/admin/help",
        lambda exc: _help_page(request, caller, exc, rows),
    )


@router.post("/help/reset", response_class=HTMLResponse)
async def reset_help(request: Request, caller: Admin, country: Text = "") -> Response:
    return await _act(
        request,
        lambda rt: admin.do_reset_help_numbers(rt, caller, country),
        "/app/admin/help",
        lambda exc: _help_page(request, caller, exc),
    )


# ----- closing topics ----------------------------------------------------------------------


async def _topics_page(
    request: Request, caller: StaffIdentity, error: UserError | None = None, text: str | None = None
) -> Response:
    team = await admin.team_of(runtime(request), caller)
    locale = request_locale(request)
    context = {
        "shown": [translate(locale, t) for t in defaults.topics(team)],
        "text": text if text is not None else "\n".join(defaults.topics(team)),
        "is_default": not team.topics,
    }
    return _show(request, caller, "admin_topics.html", context, error)


@router.get("/topics", response_class=HTMLResponse)
async def topics_page(request: Request, caller: Admin) -> Response:
    return await _topics_page(request, caller)


@router.post("/topics", response_class=HTMLResponse)
async def save_topics(request: Request, caller: Admin, topics: LongText = "") -> Response:
    return await _act(
        request,
        lambda rt: admin.do_set_topics(rt, caller, topics),
        "/app/admin/topics",
        lambda exc: _topics_page(request, caller, exc, topics),
    )


@router.post("/topics/reset", response_class=HTMLResponse)
async def reset_topics(request: Request, caller: Admin) -> Response:
    return await _act(
        request,
        lambda rt: admin.do_set_topics(rt, caller, None),
        "/app/admin/topics",
        lambda exc: _topics_page(request, caller, exc),
    )


# ----- ready replies -----------------------------------------------------------------------


async def _replies_page(
    request: Request,
    caller: StaffIdentity,
    error: UserError | None = None,
    *,
    new: content.ReplyDraft | None = None,
    edited: tuple[int, content.ReplyDraft] | None = None,
) -> Response:
    rt = runtime(request)
    team = await admin.team_of(rt, caller)
    replies = await content.list_replies(rt, caller)
    if edited is not None:  # show what the admin typed, with the reason it was refused
        replies = [
            content.ReplyRow(r.id, edited[1].key, edited[1].body) if r.id == edited[0] else r
            for r in replies
        ]
    context = {
        "replies": replies,
        "new": new or content.ReplyDraft(),
        "edited_id": edited[0] if edited else None,
        "team_name": team.name,
    }
    return _show(request, caller, "admin_replies.html", context, error)


@router.get("/replies", response_class=HTMLResponse)
async def replies_page(request: Request, caller: Admin) -> Response:
    return await _replies_page(request, caller)


@router.post("/replies", response_class=HTMLResponse)
async def add_reply(
    request: Request, caller: Admin, key: Text = "", body: LongText = ""
) -> Response:
    draft = content.ReplyDraft(key, body)
    return await _act(
        request,
        lambda rt: content.do_add_reply(rt, caller, draft),
        "/app/admin/replies",
        lambda exc: _replies_page(request, caller, exc, new=draft),
    )


@router.post("/replies/{reply_id}", response_class=HTMLResponse)
async def edit_reply(
    request: Request, caller: Admin, reply_id: RowId, key: Text = "", body: LongText = ""
) -> Response:
    draft = content.ReplyDraft(key, body)
    return await _act(
        request,
        lambda rt: content.do_edit_reply(rt, caller, reply_id, draft),
        "/app/admin/replies",
        lambda exc: _replies_page(request, caller, exc, edited=(reply_id, draft)),
    )


@router.post("/replies/{reply_id}/delete")
async def delete_reply(request: Request, caller: Admin, reply_id: RowId) -> Response:
    return await _act(
        request,
        lambda rt: content.do_delete_reply(rt, caller, reply_id),
        "/app/admin/replies",
        lambda exc: _replies_page(request, caller, exc),
    )


# ----- risk words and guidance -------------------------------------------------------------


async def _risk_page(
    request: Request,
    caller: StaffIdentity,
    error: UserError | None = None,
    *,
    word: dict[str, str] | None = None,
    guidance: str | None = None,
) -> Response:
    rt, locale = runtime(request), request_locale(request)
    team = await admin.team_of(rt, caller)
    context = {
        "words": await content.list_risk_words(rt, caller),
        "categories": [(c, translate(locale, content.CATEGORY_NAMES[c])) for c in risk.CATEGORIES],
        "names": {c: translate(locale, n) for c, n in content.CATEGORY_NAMES.items()},
        "word_form": word or {"category": risk.CATEGORIES[0], "pattern": ""},
        "guidance": guidance if guidance is not None else team.risk_guidance or "",
        "default_guidance": translate(locale, defaults.RISK_GUIDANCE),
    }
    return _show(request, caller, "admin_risk.html", context, error)


@router.get("/risk", response_class=HTMLResponse)
async def risk_page(request: Request, caller: Admin) -> Response:
    return await _risk_page(request, caller)


@router.post("/risk/words", response_class=HTMLResponse)
async def add_risk_word(
    request: Request, caller: Admin, category: Text = "", pattern: Text = ""
) -> Response:
    form = {"category": category, "pattern": pattern}
    return await _act(
        request,
        lambda rt: content.do_add_risk_word(rt, caller, category, pattern),
        "/app/admin/risk",
        lambda exc: _risk_page(request, caller, exc, word=form),
    )


@router.post("/risk/words/{word_id}/delete")
async def delete_risk_word(request: Request, caller: Admin, word_id: RowId) -> Response:
    return await _act(
        request,
        lambda rt: content.do_delete_risk_word(rt, caller, word_id),
        "/app/admin/risk",
        lambda exc: _risk_page(request, caller, exc),
    )


@router.post("/risk/guidance", response_class=HTMLResponse)
async def save_guidance(request: Request, caller: Admin, guidance: LongText = "") -> Response:
    return await _act(
        request,
        lambda rt: admin.do_set_risk_guidance(rt, caller, guidance),
        "/app/admin/risk",
        lambda exc: _risk_page(request, caller, exc, guidance=guidance),
    )


# ----- blocks ------------------------------------------------------------------------------


async def _blocks_page(
    request: Request, caller: StaffIdentity, error: UserError | None = None, hours: str = ""
) -> Response:
    rt, locale = runtime(request), request_locale(request)
    team = await admin.team_of(rt, caller)
    blocks = [
        {
            "id": b.conversation_id,
            "number": b.number,
            "until": _local(b.blocked_until, team, locale),
        }
        for b in await content.list_blocks(rt, caller)
    ]
    context = {"blocks": blocks, "block_hours": hours or str(team.block_hours)}
    return _show(request, caller, "admin_blocks.html", context, error)


@router.get("/blocks", response_class=HTMLResponse)
async def blocks_page(request: Request, caller: Admin) -> Response:
    return await _blocks_page(request, caller)


@router.post("/blocks/hours", response_class=HTMLResponse)
async def save_block_hours(request: Request, caller: Admin, block_hours: Text = "") -> Response:
    return await _act(
        request,
        lambda rt: admin.do_set_block_hours(rt, caller, block_hours),
        "/app/admin/blocks",
        lambda exc: _blocks_page(request, caller, exc, block_hours),
    )


@router.post("/blocks/{conversation_id}/lift")
async def lift_block(request: Request, caller: Admin, conversation_id: str) -> Response:
    return await _act(
        request,
        lambda rt: content.do_lift_block(rt, caller, conversation_id),
        "/app/admin/blocks",
        lambda exc: _blocks_page(request, caller, exc),
    )
