"""The OpenAPI document of the HTTP side, for staff at ``/app/openapi.json``.

FastAPI derives the paths, parameters and form fields from the handlers. What it cannot
see is added here, once for the whole app, from facts about each route (its method, its
path parameters, whether it needs a session or the admin role):

- form posts carry the CSRF token (a ``csrf`` field or the ``X-CSRF-Token`` header);
  JSON requests (the worker app's ``/app/push``) carry it in the header;
- pages answer HTML, failed validation answers 400 with ``{"detail": …}`` (never 422),
  a missing session sends pages to the login (303) and other requests get 401, a foreign
  Origin or a wrong CSRF token gets 403, a worker on an admin page gets 403, an unknown id
  gets 404;
- a form post answers with a redirect (303), with a page (200) if its handler declares
  ``response_class=HTMLResponse``, or with the form again and the reason (400);
- the few routes that differ say so in ``EXTRA``.

The document is checked against the running server by schemathesis
(``tests/integration/test_openapi_fuzz.py``). It is not public: the young person's side
has no use for it and should tell a visitor nothing about the software behind it. The
WebSocket endpoints are documented in docs/protocol.md.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse

from lykta.staff.service import StaffIdentity
from lykta.staff.web import current_admin, current_staff
from lykta.web.csrf import CSRF_COOKIE, CSRF_FIELD
from lykta.web.pages import NO_STORE
from lykta.web.security import STAFF_COOKIE

router = APIRouter(prefix="/app")

DESCRIPTION = (
    "The HTTP side of Lykta: the young person's chat page, the worker app's pages and "
    "forms. Conversations themselves travel over the WebSockets `/ws/chat` and "
    "`/ws/staff` (see docs/protocol.md). Every page takes an optional `lang` (`sv`, `en`; "
    "anything else falls back to the browser's languages). Every form post needs the "
    f"CSRF token: the `{CSRF_FIELD}` field (or the `X-CSRF-Token` header) must equal the "
    f"`{CSRF_COOKIE}` cookie that every page under /app sets, and a browser's `Origin` "
    "must be this server."
)

HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
PROBLEM: dict[str, Any] = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
REDIRECT: dict[str, Any] = {
    "description": "See other: where to go next",
    "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
}
LANG: dict[str, Any] = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "language of the page (`sv`, `en`); anything else is ignored",
    "schema": {"type": "string"},
}
CSRF_TOKEN: dict[str, Any] = {
    "type": "string",
    "description": (
        f"the CSRF token from the page's form; it must equal the `{CSRF_COOKIE}` cookie "
        "(403 otherwise). Required unless the `X-CSRF-Token` header carries it."
    ),
}
CSRF_HEADER: dict[str, Any] = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "description": f"the CSRF token, instead of the `{CSRF_FIELD}` field (which is then ignored)",
    "schema": {"type": "string"},
}

EXTRA: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("get", "/healthz"): {
        "200": {
            "description": "The server is up",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"status": {"const": "ok"}},
                        "required": ["status"],
                    }
                }
            },
        }
    },
    ("get", "/chat/{slug}"): {"404": {"description": "No such team", "content": HTML}},
    ("get", "/photos/{token}.jpg"): {
        "200": {"description": "The picture", "content": {"image/jpeg": {}}},
    },
    ("get", "/widget.js"): {
        "200": {"description": "The embedding script", "content": {"text/javascript": {}}},
        "304": {"description": "Not changed since the copy with this entity tag"},
    },
    ("get", "/app/login/code"): {"303": REDIRECT},
    ("get", "/app/enrol"): {"303": REDIRECT},
    ("post", "/app/login"): {
        "401": {"description": "Wrong e-mail address or password", "content": HTML},
        "429": {"description": "Too many attempts: locked for a while", "content": HTML},
    },
    ("post", "/app/login/code"): {
        "401": {"description": "The code did not work", "content": HTML},
        "429": {"description": "Too many attempts: locked for a while", "content": HTML},
    },
    ("post", "/app/enrol"): {
        "401": {"description": "The code did not work", "content": HTML},
        "429": {"description": "Too many attempts: locked for a while", "content": HTML},
    },
    ("post", "/app/invite/{token}"): {
        "404": {"description": "The invitation is used, expired or wrong", "content": HTML},
    },
}
"""What a route answers beyond the rules above, by (method, path)."""

STATIC: dict[str, Any] = {
    "get": {
        "summary": "The pages' scripts, styles and icons",
        "operationId": "static_file",
        "parameters": [
            {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}},
            {
                "name": "v",
                "in": "query",
                "required": False,
                "description": "the file's content hash: with the current one, cached for a year",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "The file",
                "content": {
                    "text/css": {},
                    "text/javascript": {},
                    "image/svg+xml": {},
                    "image/png": {},
                },
            },
            "404": {"description": "No such file", "content": HTML},
        },
    }
}


def dependencies_of(dependant: Dependant) -> Iterator[Any]:
    """Every dependency a route calls, however deep (``current_admin`` calls
    ``current_staff``)."""
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependencies_of(sub)


def _merge(responses: dict[str, Any], status: str, answer: dict[str, Any]) -> None:
    """Add ``answer`` under ``status``, joining content types with what is there."""
    present = responses.setdefault(status, {"description": answer["description"]})
    for key, value in answer.items():
        if key == "content":
            present.setdefault("content", {}).update(value)
        elif key != "description":
            present[key] = value


def _form_schema(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas of the operation's form body, creating one if it has none (the CSRF
    token alone)."""
    body = operation.setdefault(
        "requestBody",
        {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
    )
    found = []
    for media in body["content"].values():
        schema = media["schema"]
        ref = schema.get("$ref")
        if ref:
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        # FastAPI reads an empty form field as a missing one: a required text needs a letter.
        for name in schema.get("required", []):
            field = schema["properties"][name]
            if field.get("type") == "string" and "format" not in field:
                field.setdefault("minLength", 1)
        found.append(schema)
    return found


def _complete(spec: dict[str, Any], route: APIRoute, method: str) -> None:
    operation = spec["paths"][route.path_format][method]
    responses: dict[str, Any] = operation["responses"]
    calls = set(dependencies_of(route.dependant))
    admin = current_admin in calls
    staff = admin or current_staff in calls
    params = "{" in route.path_format
    validated = bool(operation.get("parameters") or operation.get("requestBody"))
    redirects_only = isinstance(route.response_class, DefaultPlaceholder)

    responses.pop("422", None)
    if method == "get":
        if "text/html" in responses.get("200", {}).get("content", {}):
            operation.setdefault("parameters", []).append(LANG)
        if validated:
            _merge(responses, "400", {"description": "A malformed parameter", "content": PROBLEM})
        if staff:
            _merge(responses, "303", REDIRECT | {"description": "Not logged in: to the login"})
    elif "application/json" in operation.get("requestBody", {}).get("content", {}):
        # A JSON request of the worker app's scripts: the CSRF token in the header, and
        # the route's own answers (it states them) instead of forms and redirects.
        operation.setdefault("parameters", []).append(CSRF_HEADER | {"required": True})
        _merge(
            responses,
            "403",
            {"description": "A foreign Origin or a wrong CSRF token", "content": PROBLEM},
        )
        if staff:
            _merge(responses, "401", {"description": "Not logged in", "content": PROBLEM})
    else:
        if redirects_only:
            del responses["200"]
        for schema in _form_schema(spec, operation):
            schema.setdefault("properties", {})[CSRF_FIELD] = CSRF_TOKEN
        operation.setdefault("parameters", []).append(CSRF_HEADER)
        _merge(responses, "303", REDIRECT | {"description": "Done: where to go next"})
        _merge(
            responses,
            "400",
            {"description": "Refused: the form again with the reason", "content": HTML},
        )
        _merge(responses, "400", {"description": "A malformed field", "content": PROBLEM})
        _merge(
            responses,
            "403",
            {"description": "A foreign Origin or a wrong CSRF token", "content": PROBLEM},
        )
        if staff:
            _merge(responses, "401", {"description": "Not logged in", "content": PROBLEM})
    if staff:
        operation["security"] = [{"staffSession": []}]
    if admin:
        _merge(responses, "403", {"description": "Not an admin of the team", "content": HTML})
    if params:
        _merge(responses, "404", {"description": "Not found (or another team's)", "content": HTML})
    for status, answer in EXTRA.get((method, route.path_format), {}).items():
        if status == "200":
            responses["200"] = answer
        else:
            _merge(responses, status, answer)


def build(app: FastAPI, routers: Iterable[APIRouter]) -> dict[str, Any]:
    """FastAPI's document for ``app``, completed for the routes of ``routers``."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=DESCRIPTION,
        routes=app.routes,
    )
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
    components["securitySchemes"] = {
        "staffSession": {
            "type": "apiKey",
            "in": "cookie",
            "name": STAFF_COOKIE,
            "description": "a complete staff session: password and second factor",
        }
    }
    for each in routers:
        for route in each.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in sorted((route.methods or set()) - {"HEAD"}):
                    _complete(spec, route, method.lower())
    spec["paths"]["/static/{path}"] = STATIC
    return copy.deepcopy(spec)  # no part shared with the constants above


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Serve the completed document instead of FastAPI's (built once, on first use)."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            built.update(build(app, routers))
        return built

    app.openapi = openapi  # type: ignore[method-assign]


@router.get("/openapi.json")
async def openapi_document(
    request: Request, caller: Annotated[StaffIdentity, Depends(current_staff)]
) -> JSONResponse:
    """This document."""
    app: FastAPI = request.app
    return JSONResponse(app.openapi(), headers=NO_STORE)
