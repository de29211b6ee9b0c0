"""``/app/admin/retention``: how long the team keeps conversations (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta.db import utcnow
from lykta.errors import UserError
from lykta.retention import admin
from lykta.staff.service import StaffIdentity
from lykta.staff.web import checked, current_admin, page
from lykta.web.pages import NO_STORE, request_locale, runtime

router = APIRouter(prefix="/app/admin")
Admin = Annotated[StaffIdentity, Depends(current_admin)]
Days = Annotated[str, Form(max_length=10)]
PAGE = "/app/admin/retention"


async def _retention_page(
    request: Request,
    caller: StaffIdentity,
    error: UserError | None = None,
    form: admin.RetentionForm | None = None,
) -> Response:
    rt = runtime(request)
    if form is None:
        current = await admin.retention_of(rt, caller)
        form = admin.RetentionForm(str(current.retention_days), str(current.question_wait_days))
    context = {
        "form": form,
        "months": await admin.monthly_stats(rt, caller, utcnow().date()),
        "error": error.translated(request_locale(request)) if error else None,
        "saved": error is None and request.query_params.get("saved") == "1",
    }
    return page(
        request, "admin_retention.html", context, caller=caller, status_code=400 if error else 200
    )


@router.get("/retention", response_class=HTMLResponse)
async def retention_page(request: Request, caller: Admin) -> Response:
    return await _retention_page(request, caller)


@router.post("/retention", response_class=HTMLResponse)
async def save_retention(
    request: Request, caller: Admin, retention_days: Days = "", question_wait_days: Days = ""
) -> Response:
    rt = await checked(request)
    form = admin.RetentionForm(retention_days, question_wait_days)
    try:
        await admin.do_set_retention(rt, caller, form)
    except UserError as exc:
        return await _retention_page(request, caller, exc, form)
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303, headers=NO_STORE)
