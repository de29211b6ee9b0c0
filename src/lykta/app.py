"""``create_app(settings)``: wires the domains, middleware and routes into one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import parse_qs

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from lykta import __version__
from lykta.config import Settings
from lykta.conversations.legacy import seal_plaintext
from lykta.conversations.staff_socket import staff_socket
from lykta.conversations.youth_socket import youth_socket
from lykta.push.routes import router as push_router
from lykta.realtime.broker import Broker
from lykta.retention.purge import run_periodically
from lykta.retention.routes import router as retention_router
from lykta.runtime import Runtime
from lykta.staff.admin_routes import router as admin_router
from lykta.staff.profile_routes import public_router as photo_router
from lykta.staff.profile_routes import router as profile_router
from lykta.staff.routes import router as staff_router
from lykta.staff.web import Forbidden, NotLoggedIn
from lykta.teams.admin_routes import router as team_admin_router
from lykta.teams.privacy_routes import router as privacy_router
from lykta.web import openapi, pages, widget
from lykta.web.csrf import CsrfCookie
from lykta.web.pwa import router as pwa_router
from lykta.web.render import STATIC, static_version
from lykta.web.security import HeadAsGet, SecurityHeaders

log = logging.getLogger(__name__)

ROUTERS = (
    pages.router,
    pwa_router,
    staff_router,
    profile_router,
    admin_router,
    team_admin_router,
    privacy_router,
    retention_router,
    push_router,
    photo_router,
    widget.router,
    openapi.router,
)
"""Every HTTP router of the app (the isolation tests walk these)."""


def allowed_methods(path: str) -> str:
    """The ``Allow`` header of a 405: every method of every route on ``path`` (Starlette
    names only the first route's, and each of our methods is a route of its own)."""
    methods = {
        method
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path_regex.match(path)
        for method in route.methods or ()
    } or {"GET"}  # the static files
    if "GET" in methods:
        methods.add("HEAD")  # answered like GET (``HeadAsGet``)
    return ", ".join(sorted(methods))


class CachedStatic(StaticFiles):
    """A file asked for with its current content hash (``?v=``) never changes: cache it
    for a year. Anything else (a module imported without the hash, an old hash) must be
    revalidated, so an upgrade never mixes old and new scripts."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])
            if asked[0] and asked[0] == static_version(path):
                response.headers["cache-control"] = "public, max-age=31536000, immutable"
            else:
                response.headers["cache-control"] = "no-cache"
        return response


SOCKETS: Final = {"/ws/chat": youth_socket, "/ws/staff": staff_socket}


class SocketsFirst:
    """Hands the two socket endpoints their connections before the HTTP middleware does.

    None of the middleware acts on a WebSocket (each passes it on), but each layer's frame
    would stay in memory for as long as the socket is open: with thousands of idle young
    people that is a measurable part of the memory per connection (docs/performance.md).
    Every other request, and any other WebSocket path, goes through the application.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = SOCKETS.get(scope["path"]) if scope["type"] == "websocket" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        await endpoint(WebSocket(scope, receive, send))


def create_app(settings: Settings | None = None, *, broker: Broker | None = None) -> FastAPI:
    settings = settings or Settings()
    rt = Runtime.create(settings, broker)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        await seal_plaintext(rt)
        jobs = []
        if settings.purge_interval_seconds > 0:
            jobs.append(asyncio.create_task(run_periodically(rt, settings.purge_interval_seconds)))
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            await rt.stop()

    app = FastAPI(
        title="Lykta",
        version=__version__,
        # The bundled API explorers load scripts from a CDN: never serve them. The OpenAPI
        # document is served to staff only, by ``openapi.router``.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    openapi.install(app, ROUTERS)
    app.state.runtime = rt
    for router in ROUTERS:
        app.include_router(router)
    # Plain Starlette routes: the sockets take no dependencies, and FastAPI's wrapper
    # (dependency solving, an exit stack) would stay in memory for every open socket.
    for path, endpoint in SOCKETS.items():
        app.router.add_websocket_route(path, endpoint)
    app.mount("/static", CachedStatic(directory=str(STATIC)), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 403 and request.method not in ("GET", "HEAD"):
            return JSONResponse({"detail": exc.detail}, status_code=403)
        response = pages.error_page(request, exc.status_code)
        if exc.status_code == 405:
            response.headers["allow"] = allowed_methods(request.url.path)
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _exc: NotLoggedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/app/login", status_code=303, headers=pages.NO_STORE)
        return JSONResponse({"detail": "not logged in"}, status_code=401)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return pages.error_page(request, 403)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) for e in exc.errors()})
        return JSONResponse(
            {"detail": "invalid or missing field(s): " + ", ".join(fields)}, status_code=400
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
        return pages.error_page(request, 500)

    app.add_middleware(CsrfCookie, secure=settings.staff_cookie_secure)
    app.add_middleware(SecurityHeaders, hsts=settings.staff_cookie_secure)
    app.add_middleware(HeadAsGet)
    return app
