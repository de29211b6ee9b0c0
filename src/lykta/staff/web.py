"""Shared pieces of the worker app's HTTP handlers: who is calling, and page rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from lykta.runtime import Runtime
from lykta.staff import service
from lykta.staff.service import StaffIdentity
from lykta.web.csrf import check_csrf, csrf_token
from lykta.web.pages import NO_STORE, request_locale, runtime
from lykta.web.render import render
from lykta.web.security import STAFF_COOKIE

MAX_ROW_ID = 2**31 - 1
"""Row ids are 32-bit integers on PostgreSQL. A larger number in a URL is refused (400)
before it reaches the database, where SQLite cannot hold it and PostgreSQL refuses it."""
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
"""The id of a team-owned row in a path."""
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NotLoggedIn(Exception):
    """No complete session: pages redirect to the login, other requests get 401."""


class Forbidden(Exception):
    """Logged in, but the role does not allow this page (403)."""


async def current_staff(request: Request) -> StaffIdentity:
    caller = await service.resolve_session(runtime(request), request.cookies.get(STAFF_COOKIE))
    if caller is None:
        raise NotLoggedIn
    return caller


async def current_admin(request: Request) -> StaffIdentity:
    caller = await current_staff(request)
    if not caller.is_admin:
        raise Forbidden
    return caller


async def pending_staff(request: Request) -> StaffIdentity | None:
    return await service.resolve_session(
        runtime(request), request.cookies.get(STAFF_COOKIE), pending=True
    )


async def checked(request: Request) -> Runtime:
    """The checks every state-changing staff request goes through: CSRF, and no NUL
    character in a form's text (no browser sends one; PostgreSQL cannot store one)."""
    rt = runtime(request)
    await check_csrf(request, rt.settings)
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()  # already read by the handler's Form parameters
        bad = sorted(
            {k for k, v in form.multi_items() if "\0" in k or (isinstance(v, str) and "\0" in v)}
        )
        if bad:
            raise RequestValidationError(
                [
                    {"loc": ("body", name), "msg": "NUL character", "type": "value_error"}
                    for name in bad
                ]
            )
    return rt


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    caller: StaffIdentity | None = None,
    status_code: int = 200,
) -> Response:
    # Every page under /app links the installable app's manifest (web/pwa.py).
    values: dict[str, Any] = {"csrf": csrf_token(request), "me": caller, "installable": True}
    values.update(context or {})
    return render(
        request,
        request_locale(request),
        template,
        values,
        status_code=status_code,
        headers=NO_STORE,
    )


def set_session_cookie(response: Response, rt: Runtime, token: str) -> None:
    response.set_cookie(
        STAFF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=rt.settings.staff_cookie_secure,
        path="/",
    )
