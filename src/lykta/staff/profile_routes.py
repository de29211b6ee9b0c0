"""A worker's own account: first name, password, recovery codes, logging out everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta.conversations.service import worker_profile
from lykta.errors import UserError
from lykta.i18n import N_
from lykta.staff import members, photos
from lykta.staff.service import StaffError, StaffIdentity
from lykta.staff.web import checked, current_staff, page
from lykta.web.pages import NO_STORE, request_locale, runtime
from lykta.web.render import translate
from lykta.web.security import STAFF_COOKIE

router = APIRouter(prefix="/app")
public_router = APIRouter()
Staff = Annotated[StaffIdentity, Depends(current_staff)]

SAVED = N_("Saved.")
PASSWORD_CHANGED = N_("Password changed. You were logged out on every other device.")


async def _profile(
    request: Request,
    caller: StaffIdentity,
    *,
    notice: str | None = None,
    error: UserError | None = None,
    status_code: int = 200,
) -> Response:
    locale = request_locale(request)
    rt = runtime(request)
    token = await photos.photo_token(rt, caller.user_id)
    profile = await worker_profile(rt, caller.user_id)
    return page(
        request,
        "profile.html",
        {
            "notice": translate(locale, notice) if notice else None,
            "error": error.translated(locale) if error else None,
            "photo_url": f"/photos/{token}.jpg" if token else None,
            "introduction": profile.introduction if profile and profile.introduction else "",
        },
        caller=caller,
        status_code=status_code,
    )


@router.get("/profile", response_class=HTMLResponse)
async def profile(request: Request, caller: Staff) -> Response:
    return await _profile(request, caller)


@router.post("/profile/name", response_class=HTMLResponse)
async def change_name(
    request: Request, caller: Staff, first_name: Annotated[str, Form(max_length=200)]
) -> Response:
    rt = await checked(request)
    try:
        await members.do_change_first_name(rt, caller, first_name)
    except StaffError as exc:
        return await _profile(request, caller, error=exc, status_code=400)
    return RedirectResponse("/app/profile", status_code=303, headers=NO_STORE)


@router.post("/profile/introduction", response_class=HTMLResponse)
async def change_introduction(
    request: Request, caller: Staff, introduction: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    rt = await checked(request)
    try:
        await members.do_change_introduction(rt, caller, introduction)
    except StaffError as exc:
        return await _profile(request, caller, error=exc, status_code=400)
    return RedirectResponse("/app/profile", status_code=303, headers=NO_STORE)


@router.post("/profile/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    caller: Staff,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
) -> Response:
    rt = await checked(request)
    try:
        await members.do_change_password(rt, caller, current, new)
    except StaffError as exc:
        return await _profile(request, caller, error=exc, status_code=400)
    return await _profile(request, caller, notice=PASSWORD_CHANGED)


@router.post("/profile/photo", response_class=HTMLResponse)
async def upload_photo(
    request: Request, caller: Staff, photo: Annotated[UploadFile, File()]
) -> Response:
    rt = await checked(request)
    try:
        await photos.do_set_photo(rt, caller, await photo.read(photos.MAX_UPLOAD + 1))
    except photos.PhotoError as exc:
        return await _profile(request, caller, error=exc, status_code=400)
    return RedirectResponse("/app/profile", status_code=303, headers=NO_STORE)


@router.post("/profile/photo/remove")
async def remove_photo(request: Request, caller: Staff) -> Response:
    rt = await checked(request)
    await photos.do_remove_photo(rt, caller)
    return RedirectResponse("/app/profile", status_code=303, headers=NO_STORE)


@public_router.get("/photos/{token}.jpg")
async def photo(request: Request, token: str) -> Response:
    """A worker's photo, public by design (young people see it), at an unguessable URL."""
    data = await photos.photo_by_token(runtime(request), token)
    if data is None:
        raise HTTPException(status_code=404)
    return Response(
        data,
        media_type="image/jpeg",
        headers={"cache-control": "public, max-age=86400"},
    )


@router.post("/profile/recovery-codes", response_class=HTMLResponse)
async def new_recovery_codes(request: Request, caller: Staff) -> Response:
    rt = await checked(request)
    codes = await members.do_new_recovery_codes(rt, caller)
    return page(request, "recovery_codes.html", {"codes": codes}, caller=caller)


@router.post("/logout-everywhere")
async def logout_everywhere(request: Request, caller: Staff) -> Response:
    rt = await checked(request)
    await members.do_logout_everywhere(rt, caller)
    response = RedirectResponse("/app/login", status_code=303, headers=NO_STORE)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response
