"""The OpenAPI document covers every route and states the app's conventions on each.

Whether the server really answers as documented is shown against a running server by
``tests/integration/test_openapi_fuzz.py``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from lykta.app import ROUTERS, create_app
from lykta.staff.web import current_admin, current_staff
from lykta.web.openapi import dependencies_of

SPEC = create_app().openapi()
OPERATIONS = [
    (route, method.lower())
    for router in ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in sorted((route.methods or set()) - {"HEAD"})
]


def operation(route: APIRoute, method: str) -> dict[str, Any]:
    found: dict[str, Any] = SPEC["paths"][route.path_format][method]
    return found


def form_fields(route: APIRoute, method: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for media in operation(route, method)["requestBody"]["content"].values():
        schema = media["schema"]
        if "$ref" in schema:
            schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        fields.update(schema["properties"])
    return fields


def test_every_route_is_documented_and_nothing_else_but_the_static_files() -> None:
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    routes = {(route.path_format, method) for route, method in OPERATIONS}
    assert documented - routes == {("/static/{path}", "get")}
    assert routes <= documented


def test_the_document_is_for_staff_only() -> None:
    paths = {route.path for route in create_app().routes if hasattr(route, "path")}
    assert "/openapi.json" not in paths
    assert operation(*next(o for o in OPERATIONS if o[0].path == "/app/openapi.json"))[
        "security"
    ] == [{"staffSession": []}]
    assert "version" in SPEC["info"]


@pytest.mark.parametrize(("route", "method"), OPERATIONS, ids=lambda x: getattr(x, "path", x))
def test_each_operation_states_the_conventions(route: APIRoute, method: str) -> None:
    answers = operation(route, method)["responses"]
    assert "422" not in answers  # validation errors are 400 here
    assert not any(status.startswith("5") for status in answers)
    calls = set(dependencies_of(route.dependant))
    if current_staff in calls or current_admin in calls:
        assert operation(route, method)["security"] == [{"staffSession": []}]
        assert ("303" if method == "get" else "401") in answers
    if current_admin in calls:
        assert "text/html" in answers["403"]["content"]
    body = operation(route, method).get("requestBody", {}).get("content", {})
    if method != "get" and "application/json" in body:
        # The worker app's JSON requests: the CSRF token in a required header.
        header = [p for p in operation(route, method)["parameters"] if p["in"] == "header"]
        assert [(p["name"], p["required"]) for p in header] == [("X-CSRF-Token", True)]
        assert "application/json" in answers["403"]["content"]
        assert "303" not in answers
    elif method == "post":
        assert "csrf" in form_fields(route, method)
        assert "application/json" in answers["403"]["content"]
        assert "Location" in answers["303"]["headers"]
    if "{" in route.path_format:
        assert "404" in answers
