"""The widget's script and the line an admin copies: labels in every language, and the
address other sites reach Lykta at, also behind the TLS proxy."""

from __future__ import annotations

import json
import re

from starlette.requests import Request

from lykta.config import Settings
from lykta.web.widget import public_origin, snippet, widget_script


def request_to(host: str, scheme: str = "http") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": scheme,
            "path": "/app/admin/privacy",
            "query_string": b"",
            "server": ("127.0.0.1", 8000),
            "headers": [(b"host", host.encode())],
        }
    )


def test_the_script_carries_every_languages_labels() -> None:
    body, etag = widget_script("sv")
    found = re.search(rb"\}\)\((\{.*\})\);\s*$", body)
    assert found, "the labels are not handed to the script's function"
    config = json.loads(found.group(1))
    assert config["default"] == "sv"
    assert config["labels"]["sv"] == {
        "open": "Chatta med oss",
        "close": "Dölj chatten",
        "title": "Anonym chatt",
    }
    assert config["labels"]["en"]["open"] == "Chat with us"
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag)
    assert widget_script("en")[1] != etag  # another default, another tag


def test_the_line_names_the_address_the_admin_uses() -> None:
    plain = Settings(staff_cookie_secure=False)
    assert public_origin(request_to("127.0.0.1:8000"), plain) == "http://127.0.0.1:8000"
    # Behind the TLS proxy the request arrives as http; sites must load the script over https.
    secure = Settings(staff_cookie_secure=True)
    assert public_origin(request_to("chat.molndal.se"), secure) == "https://chat.molndal.se"
    assert snippet("https://chat.molndal.se", "molndal") == (
        '<script src="https://chat.molndal.se/widget.js" data-team="molndal" '
        'referrerpolicy="no-referrer" async></script>'
    )
