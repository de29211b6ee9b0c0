"""Server-rendered pages: one Jinja environment per locale, autoescaping always on."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from lykta.i18n import LANGUAGE_NAMES, SUPPORTED_LOCALES, get_translations

TEMPLATES = resources.files("lykta") / "web" / "templates"
STATIC = resources.files("lykta") / "web" / "static"


@functools.cache
def static_version(name: str) -> str:
    """A short content hash, appended as ``?v=`` so browsers never run stale scripts."""
    try:
        data = (STATIC / name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return "0"
    return hashlib.sha256(data).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version(name)}"


@functools.cache
def environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(get_translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    return env


def translate(locale: str, message: str) -> str:
    return get_translations(locale).gettext(message)


def translate_all(locale: str, strings: Mapping[str, str]) -> dict[str, str]:
    """Translate a table of ``N_``-marked strings for the page's scripts."""
    translations = get_translations(locale)
    return {key: translations.gettext(value) for key, value in strings.items()}


def language_links(request: Request, current: str) -> list[dict[str, Any]]:
    links = []
    for code in SUPPORTED_LOCALES:
        query = dict(request.query_params)
        query["lang"] = code
        links.append(
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "url": f"{request.url.path}?{urlencode(query)}",
                "current": code == current,
            }
        )
    return links


def render(
    request: Request,
    locale: str,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    values: dict[str, Any] = {
        "lang": locale,
        "languages": language_links(request, locale),
    }
    if context:
        values.update(context)
    html = environment(locale).get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
