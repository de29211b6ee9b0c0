"""The team admin's page for how the young person's page hides itself: quick exit
destination, neutral tab title and icon, the sites allowed to embed the chat, and the line
those sites add to their pages (``/widget.js``).

Admins only; the POST passes the CSRF check, then redirects back (POST-redirect-GET) or
shows the form again with status 400, what was typed, and the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from lykta.errors import UserError
from lykta.staff.service import StaffIdentity
from lykta.staff.web import checked, current_admin, page
from lykta.teams import privacy
from lykta.teams.admin_service import team_of
from lykta.web.pages import NO_STORE, request_locale, runtime
from lykta.web.render import static_url, translate
from lykta.web.widget import public_origin, snippet

router = APIRouter(prefix="/app/admin")
Admin = Annotated[StaffIdentity, Depends(current_admin)]
Text = Annotated[str, Form(max_length=1000)]
Origins = Annotated[str, Form(max_length=10_000)]
PAGE = "/app/admin/privacy"


async def _privacy_page(
    request: Request,
    caller: StaffIdentity,
    error: UserError | None = None,
    form: privacy.PrivacyForm | None = None,
) -> Response:
    rt, locale = runtime(request), request_locale(request)
    team = await team_of(rt, caller)
    context = {
        "form": form or privacy.form_of(privacy.privacy_of(team)),
        "default_exit": rt.settings.quick_exit_url,
        "suggestions": [(url, translate(locale, kind)) for url, kind in privacy.EXIT_SUGGESTIONS],
        "icons": [
            (name, translate(locale, label), static_url(f"icons/{name}.svg"))
            for name, label in privacy.NEUTRAL_ICONS.items()
        ],
        "error": error.translated(locale) if error else None,
        "saved": error is None and request.query_params.get("saved") == "1",
        "snippet": snippet(public_origin(request, rt.settings), team.slug),
    }
    status = 400 if error else 200
    return page(request, "admin_privacy.html", context, caller=caller, status_code=status)


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_page(request: Request, caller: Admin) -> Response:
    return await _privacy_page(request, caller)


@router.post("/privacy", response_class=HTMLResponse)
async def save_privacy(
    request: Request,
    caller: Admin,
    quick_exit_url: Text = "",
    neutral_title: Text = "",
    neutral_icon: Text = "",
    embed_origins: Origins = "",
) -> Response:
    rt = await checked(request)
    form = privacy.PrivacyForm(quick_exit_url, neutral_title, neutral_icon, embed_origins)
    try:
        await privacy.do_set_privacy(rt, caller, form, request.headers.get("host", ""))
    except UserError as exc:
        return await _privacy_page(request, caller, exc, form)
    return RedirectResponse(f"{PAGE}?saved=1", status_code=303, headers=NO_STORE)
