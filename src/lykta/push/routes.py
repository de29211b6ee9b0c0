"""``/app/push``: the worker app's key, and its devices' subscriptions (JSON).

Thin: the staff session, the CSRF header (``X-CSRF-Token``), a bounded JSON body, the
service, a JSON answer. Refusals are ``400 {"error": "<translated text>"}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lykta.push import service
from lykta.push.endpoints import BAD_SUBSCRIPTION, MAX_ENDPOINT, PushError
from lykta.staff.service import StaffIdentity
from lykta.staff.web import checked, current_staff
from lykta.web.pages import NO_STORE, request_locale, runtime

router = APIRouter(prefix="/app/push")
Staff = Annotated[StaffIdentity, Depends(current_staff)]

MAX_BODY: Final = MAX_ENDPOINT + 1024
"""Bytes of JSON a subscription may take: the longest endpoint, the keys, the brackets."""

ERROR: dict[str, Any] = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        }
    }
}
SUBSCRIPTION: dict[str, Any] = {
    "type": "object",
    "description": "a PushSubscription as its toJSON() gives it",
    "properties": {
        "endpoint": {"type": "string", "maxLength": MAX_ENDPOINT},
        "expirationTime": {"type": ["number", "null"]},
        "keys": {
            "type": "object",
            "properties": {"p256dh": {"type": "string"}, "auth": {"type": "string"}},
            "required": ["p256dh", "auth"],
        },
    },
    "required": ["endpoint", "keys"],
}
ENDPOINT: dict[str, Any] = {
    "type": "object",
    "properties": {"endpoint": {"type": "string", "maxLength": MAX_ENDPOINT}},
    "required": ["endpoint"],
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def refused(request: Request, error: PushError, status_code: int = 400) -> JSONResponse:
    text = error.translated(request_locale(request))
    return JSONResponse({"error": text}, status_code=status_code, headers=NO_STORE)


async def json_body(request: Request) -> Any:
    """The request's JSON, at most ``MAX_BODY`` bytes; ``PushError`` otherwise."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            raise PushError(BAD_SUBSCRIPTION)
    try:
        return orjson.loads(bytes(received))
    except orjson.JSONDecodeError:
        raise PushError(BAD_SUBSCRIPTION) from None


@router.get(
    "/key",
    responses={
        200: {
            "description": "The team's VAPID public key (base64url, uncompressed P-256)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"public_key": {"type": "string"}},
                        "required": ["public_key"],
                    }
                }
            },
        },
        404: {"description": "Notifications are switched off", "content": ERROR},
    },
)
async def push_key(request: Request, caller: Staff) -> JSONResponse:
    """The key the app subscribes its device with (``applicationServerKey``)."""
    try:
        key = await service.public_key(runtime(request), caller)
    except service.PushOff as exc:
        return refused(request, exc, 404)
    return JSONResponse({"public_key": key}, headers=NO_STORE)


@router.post(
    "/subscriptions",
    status_code=201,
    response_class=JSONResponse,
    openapi_extra=_body(SUBSCRIPTION),
    responses={
        201: {
            "description": "Subscribed (again, if the device was already)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"ok": {"const": True}},
                        "required": ["ok"],
                    }
                }
            },
        },
        400: {"description": "A subscription the server will not use", "content": ERROR},
        404: {"description": "Notifications are switched off", "content": ERROR},
    },
)
async def subscribe(request: Request, caller: Staff) -> Response:
    """Send this device's notifications to the subscription its browser made."""
    rt = await checked(request)
    try:
        data = await json_body(request)
        await service.do_subscribe(
            rt,
            caller,
            data,
            locale=request_locale(request),
            origin=request.headers.get("origin"),
        )
    except service.PushOff as exc:
        return refused(request, exc, 404)
    except PushError as exc:
        return refused(request, exc)
    return JSONResponse({"ok": True}, status_code=201, headers=NO_STORE)


@router.delete(
    "/subscriptions",
    status_code=204,
    response_class=Response,
    openapi_extra=_body(ENDPOINT),
    responses={400: {"description": "No endpoint named", "content": ERROR}},
)
async def unsubscribe(request: Request, caller: Staff) -> Response:
    """Stop sending to this device (one of the caller's own)."""
    rt = await checked(request)
    try:
        await service.do_unsubscribe(rt, caller, await json_body(request))
    except PushError as exc:
        return refused(request, exc)
    return Response(status_code=204, headers=NO_STORE)
