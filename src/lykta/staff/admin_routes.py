"""Team admin pages: members and invitations, team settings, the audit log.

Every member lookup goes through ``members.access_member_for_admin`` (another team's
member is "not found", exactly like a missing one); every page needs the admin role.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from pydantic import AfterValidator
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta.audit import service as audit
from lykta.errors import UserError
from lykta.staff import members
from lykta.staff.service import StaffError, StaffIdentity
from lykta.staff.web import MAX_ROW_ID, RowId, checked, current_admin, page
from lykta.teams.models import Team
from lykta.teams.service import TeamError, TeamSettings, do_update_settings, settings_of
from lykta.web.pages import NO_STORE, request_locale, runtime

router = APIRouter(prefix="/app/admin")
Admin = Annotated[StaffIdentity, Depends(current_admin)]


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


async def _members_page(
    request: Request,
    caller: StaffIdentity,
    *,
    error: UserError | None = None,
    invite_link: str | None = None,
    status_code: int = 200,
) -> Response:
    rt = runtime(request)
    return page(
        request,
        "admin_members.html",
        {
            "members": await members.list_members(rt, caller),
            "invitations": await members.list_open_invitations(rt, caller),
            "error": error.translated(request_locale(request)) if error else None,
            "invite_link": invite_link,
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/members", response_class=HTMLResponse)
async def members_page(request: Request, caller: Admin) -> Response:
    return await _members_page(request, caller)


@router.post("/members/invite", response_class=HTMLResponse)
async def invite(
    request: Request,
    caller: Admin,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    rt = await checked(request)
    try:
        token = await members.do_invite(rt, caller, email, role)
    except StaffError as exc:
        return await _members_page(request, caller, error=exc, status_code=400)
    link = f"{request.base_url}app/invite/{token}"
    return await _members_page(request, caller, invite_link=link)


async def _member_action(
    request: Request, caller: StaffIdentity, member_id: int, action: str, role: str = ""
) -> Response:
    rt = await checked(request)
    try:
        if action == "deactivate":
            await members.do_set_active(rt, caller, member_id, active=False)
        elif action == "reactivate":
            await members.do_set_active(rt, caller, member_id, active=True)
        else:
            await members.do_change_role(rt, caller, member_id, role)
    except members.MemberNotFound:
        raise HTTPException(status_code=404) from None
    except StaffError as exc:
        return await _members_page(request, caller, error=exc, status_code=400)
    return _back("/app/admin/members")


@router.post("/members/{member_id}/deactivate")
async def deactivate(request: Request, caller: Admin, member_id: RowId) -> Response:
    return await _member_action(request, caller, member_id, "deactivate")


@router.post("/members/{member_id}/reactivate")
async def reactivate(request: Request, caller: Admin, member_id: RowId) -> Response:
    return await _member_action(request, caller, member_id, "reactivate")


@router.post("/members/{member_id}/role")
async def change_role(
    request: Request,
    caller: Admin,
    member_id: RowId,
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    return await _member_action(request, caller, member_id, "role", role)


async def _team(request: Request, caller: StaffIdentity) -> Team:
    async with runtime(request).db.read() as session:
        team = await session.get(Team, caller.team_id)
    if team is None:
        raise HTTPException(status_code=404)
    return team


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, caller: Admin) -> Response:
    team = await _team(request, caller)
    return page(
        request,
        "admin_settings.html",
        {"settings": settings_of(team), "error": None, "saved": False},
        caller=caller,
    )


@router.post("/settings", response_class=HTMLResponse)
async def settings_save(
    request: Request,
    caller: Admin,
    name: Annotated[str, Form(max_length=200)],
    timezone: Annotated[str, Form(max_length=64)],
    default_locale: Annotated[str, Form(max_length=8)],
    session_idle_minutes: Annotated[int, Form(ge=0, le=100_000)],
    session_absolute_hours: Annotated[int, Form(ge=0, le=100_000)],
) -> Response:
    rt = await checked(request)
    wanted = TeamSettings(
        name, timezone, default_locale, session_idle_minutes, session_absolute_hours
    )
    try:
        async with rt.db.write() as session:
            team = await session.get(Team, caller.team_id)
            assert team is not None  # noqa: S101 - a live session's team exists
            await do_update_settings(session, team, wanted, members.actor(caller))
        rt.teams.forget(caller.team_id)  # the time zone may have changed
    except TeamError as exc:
        return page(
            request,
            "admin_settings.html",
            {"settings": wanted, "error": exc.translated(request_locale(request)), "saved": False},
            caller=caller,
            status_code=400,
        )
    return page(
        request,
        "admin_settings.html",
        {"settings": wanted.checked(), "error": None, "saved": True},
        caller=caller,
    )


def _calendar_day(value: str) -> str:
    """A day of the calendar, or nothing: the filter's date field sends ``YYYY-MM-DD``, or
    an empty value when no day is chosen."""
    if value:
        dt.date.fromisoformat(value)  # ValueError (answered 400) for 2026-02-30
    return value


Day = Annotated[
    str, Query(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"), AfterValidator(_calendar_day)
]


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    caller: Admin,
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=254)] = "",
    day: Day = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    since = until = None
    if day:
        since = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC)
        until = since + dt.timedelta(days=1)
    query = audit.AuditFilter(
        action=action or None,
        actor=actor or None,
        since=since,
        until=until,
        before_id=before,
        limit=100,
    )
    async with runtime(request).db.read() as session:
        entries = await audit.entries(session, caller.team_id, query)
    return page(
        request,
        "admin_audit.html",
        {
            "entries": entries,
            "filters": {"action": action, "actor": actor, "day": day},
            "next_before": entries[-1].id if len(entries) == query.limit else None,
        },
        caller=caller,
    )
