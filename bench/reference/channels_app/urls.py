"""Plain HTTP: only the readiness check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


async def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("ready", ready)]
