"""The worker app's pages: ``/app``, login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta.config import MAX_MESSAGE_LENGTH
from lykta.i18n import N_
from lykta.staff import service
from lykta.web.pages import NO_STORE, request_locale, runtime
from lykta.web.render import render, translate, translate_all
from lykta.web.security import STAFF_COOKIE, origin_allowed
from lykta.web.strings import STAFF_STRINGS

router = APIRouter(prefix="/app")

LOGIN_FAILED = N_("Wrong e-mail address or password.")


def _check_origin(request: Request) -> None:
    if not origin_allowed(request, runtime(request).settings):
        raise HTTPException(status_code=403, detail="cross-site request refused")


@router.api_route("", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def app_shell(request: Request) -> Response:
    rt = runtime(request)
    caller = await service.resolve_session(rt, request.cookies.get(STAFF_COOKIE))
    if caller is None:
        return RedirectResponse("/app/login", status_code=303, headers=NO_STORE)
    locale = request_locale(request)
    return render(
        request,
        locale,
        "app.html",
        {
            "me_first_name": caller.first_name,
            "team_name": caller.team_name,
            "strings": translate_all(locale, STAFF_STRINGS),
            "config": {"max_length": MAX_MESSAGE_LENGTH},
        },
        headers=NO_STORE,
    )


@router.api_route("/login", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return render(
        request,
        request_locale(request),
        "login.html",
        {"error": None, "email": ""},
        headers=NO_STORE,
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    _check_origin(request)
    rt = runtime(request)
    user = await service.authenticate(rt, email, password)
    if user is None:
        locale = request_locale(request)
        return render(
            request,
            locale,
            "login.html",
            {"error": translate(locale, LOGIN_FAILED), "email": email},
            status_code=401,
            headers=NO_STORE,
        )
    token = await service.do_create_session(rt, user)
    response = RedirectResponse("/app", status_code=303, headers=NO_STORE)
    response.set_cookie(
        STAFF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=rt.settings.staff_cookie_secure,
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    _check_origin(request)
    token = request.cookies.get(STAFF_COOKIE)
    if token:
        await service.do_end_session(runtime(request), token)
    response = RedirectResponse("/app/login", status_code=303, headers=NO_STORE)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response
