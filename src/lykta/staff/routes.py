"""The worker app's entry: ``/app``, logging in (password, second factor, enrolment),
accepting an invitation, logging out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta.config import MAX_MESSAGE_LENGTH
from lykta.i18n import N_
from lykta.staff import login, members, second_factor
from lykta.staff import service as staff_service
from lykta.staff.service import StaffError, StaffIdentity
from lykta.staff.web import (
    checked,
    current_staff,
    page,
    pending_staff,
    set_session_cookie,
)
from lykta.web.pages import NO_STORE, request_locale, runtime
from lykta.web.privacy import client_key
from lykta.web.render import translate, translate_all
from lykta.web.security import STAFF_COOKIE
from lykta.web.strings import STAFF_STRINGS

router = APIRouter(prefix="/app")

LOGIN_FAILED = N_("Wrong e-mail address or password.")
CODE_FAILED = N_("That code did not work. Use the newest code from your app, or a recovery code.")
LOCKED = N_("Too many attempts. Wait %(minutes)s minutes and try again.")
INVITATION_INVALID = N_("This invitation link is used, expired or wrong. Ask for a new one.")
PASSWORDS_DIFFER = N_("The two passwords are not the same.")
PASSWORD_RULE = N_("Choose a password of at least 12 characters.")
NAME_RULE = N_("Write a first name (at most 60 characters).")


def _locked_message(request: Request, exc: login.Locked) -> str:
    minutes = max(1, round(exc.retry_after / 60))
    return translate(request_locale(request), LOCKED) % {"minutes": minutes}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


@router.get("", response_class=HTMLResponse)
async def app_shell(
    request: Request, caller: Annotated[StaffIdentity, Depends(current_staff)]
) -> Response:
    locale = request_locale(request)
    return page(
        request,
        "app.html",
        {
            "me_first_name": caller.first_name,
            "team_name": caller.team_name,
            "strings": translate_all(locale, STAFF_STRINGS),
            "config": {"max_length": MAX_MESSAGE_LENGTH},
        },
        caller=caller,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return page(request, "login.html", {"error": None, "email": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_post(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    rt = await checked(request)
    try:
        passed = await login.login_password(rt, email, password, client_key(request.scope))
    except login.Locked as exc:
        error = _locked_message(request, exc)
        return page(request, "login.html", {"error": error, "email": email}, status_code=429)
    if passed is None:
        error = translate(request_locale(request), LOGIN_FAILED)
        return page(request, "login.html", {"error": error, "email": email}, status_code=401)
    response = _redirect("/app/enrol" if passed.needs_enrolment else "/app/login/code")
    set_session_cookie(response, rt, passed.token)
    return response


@router.get("/login/code", response_class=HTMLResponse)
async def code_form(request: Request) -> Response:
    if await pending_staff(request) is None:
        return _redirect("/app/login")
    return page(request, "login_code.html", {"error": None})


@router.post("/login/code", response_class=HTMLResponse)
async def code_post(request: Request, code: Annotated[str, Form(max_length=32)]) -> Response:
    rt = await checked(request)
    pending = await pending_staff(request)
    if pending is None:
        return _redirect("/app/login")
    try:
        token = await login.login_second_factor(rt, pending, code, client_key(request.scope))
    except login.Locked as exc:
        error = _locked_message(request, exc)
        return page(request, "login_code.html", {"error": error}, status_code=429)
    if token is None:
        error = translate(request_locale(request), CODE_FAILED)
        return page(request, "login_code.html", {"error": error}, status_code=401)
    response = _redirect("/app")
    set_session_cookie(response, rt, token)
    return response


async def _enrol_page(
    request: Request, pending: StaffIdentity, error: str | None, status_code: int = 200
) -> Response:
    rt = runtime(request)
    secret = await login.enrolment_secret(rt, pending)
    uri = second_factor.provisioning_uri(secret, pending.email, pending.team_name)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return page(
        request,
        "enrol.html",
        {"qr_svg": second_factor.qr_svg(uri), "secret": grouped, "error": error},
        status_code=status_code,
    )


@router.get("/enrol", response_class=HTMLResponse)
async def enrol_form(request: Request) -> Response:
    pending = await pending_staff(request)
    if pending is None:
        return _redirect("/app/login")
    try:
        return await _enrol_page(request, pending, None)
    except login.Locked:
        return _redirect("/app/login/code")


@router.post("/enrol", response_class=HTMLResponse)
async def enrol_post(request: Request, code: Annotated[str, Form(max_length=32)]) -> Response:
    rt = await checked(request)
    pending = await pending_staff(request)
    if pending is None:
        return _redirect("/app/login")
    try:
        done = await login.finish_enrolment(rt, pending, code, client_key(request.scope))
    except login.Locked as exc:
        return page(
            request, "login_code.html", {"error": _locked_message(request, exc)}, status_code=429
        )
    if done is None:
        error = translate(request_locale(request), CODE_FAILED)
        return await _enrol_page(request, pending, error, status_code=401)
    token, codes = done
    response = page(request, "recovery_codes.html", {"codes": codes})
    set_session_cookie(response, rt, token)
    return response


@router.get("/invite/{token}", response_class=HTMLResponse)
async def invitation_form(request: Request, token: str) -> Response:
    found = await members.open_invitation(runtime(request), token)
    if found is None:
        error = translate(request_locale(request), INVITATION_INVALID)
        return page(request, "invite.html", {"invalid": error, "error": None}, status_code=404)
    invitation, team = found
    return page(
        request,
        "invite.html",
        {
            "invalid": None,
            "error": None,
            "email": invitation.email,
            "team_name": team.name,
            "first_name": "",
        },
    )


@router.post("/invite/{token}", response_class=HTMLResponse)
async def invitation_accept(
    request: Request,
    token: str,
    first_name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    password_again: Annotated[str, Form(max_length=1024)],
) -> Response:
    rt = await checked(request)
    locale = request_locale(request)
    found = await members.open_invitation(rt, token)
    if found is None:
        error = translate(locale, INVITATION_INVALID)
        return page(request, "invite.html", {"invalid": error, "error": None}, status_code=404)
    invitation, team = found
    problem = None
    if password != password_again:
        problem = PASSWORDS_DIFFER
    elif not (len(password) >= staff_service.MIN_PASSWORD_LENGTH):
        problem = PASSWORD_RULE
    elif not first_name.strip() or len(first_name.strip()) > 60:
        problem = NAME_RULE
    pending_token = None
    if problem is None:
        try:
            pending_token = await members.do_accept_invitation(rt, token, first_name, password)
        except StaffError:
            problem = INVITATION_INVALID
    if pending_token is None:
        return page(
            request,
            "invite.html",
            {
                "invalid": None,
                "error": translate(locale, problem or INVITATION_INVALID),
                "email": invitation.email,
                "team_name": team.name,
                "first_name": first_name,
            },
            status_code=400,
        )
    response = _redirect("/app/enrol")
    set_session_cookie(response, rt, pending_token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    rt = await checked(request)
    token = request.cookies.get(STAFF_COOKIE)
    caller = await staff_service.resolve_session(rt, token, touch=False)
    if token:
        await staff_service.do_end_session(rt, token)
    if caller is not None:
        await login.record_logout(rt, caller)
    response = _redirect("/app/login")
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response
