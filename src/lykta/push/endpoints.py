"""Which push subscriptions the server accepts, and where it will connect to send.

The server POSTs to a URL that a logged-in worker's browser supplied, so the URL is held
to what a browser's push service looks like: ``https`` on the default port, a public
host name, no user name or password. Host names are checked again where it matters, when
a connection is made (``guarded_socket``): whatever the name resolves to then, and after
any redirect, a connection to a loopback, private, link-local or otherwise non-public
address is refused. ``LYKTA_PUSH_ALLOW_INSECURE_LOCALHOST`` (tests only) also lets
``http://127.0.0.1``/``localhost`` endpoints through, and loopback connections with them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from lykta.errors import UserError
from lykta.i18n import N_

MAX_ENDPOINT: Final = 2048
P256_POINT_BYTES: Final = 65
AUTH_SECRET_BYTES: Final = 16
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})


class PushError(UserError):
    """A subscription the server will not use; the message is fit for the worker."""


BAD_SUBSCRIPTION = N_("The browser sent a push subscription that cannot be used.")
REFUSED_ENDPOINT = N_("Notifications cannot be sent to that push service.")


@dataclass(frozen=True)
class Subscription:
    """A checked subscription: the endpoint and the device's keys, base64url."""

    endpoint: str
    p256dh: str
    auth: str


def b64url_decode(text: str) -> bytes:
    if not text or len(text) > 200 or not text.isascii():
        raise PushError(BAD_SUBSCRIPTION)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise PushError(BAD_SUBSCRIPTION) from None


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The device's public key must be a point on P-256, its secret 16 bytes; both come
    back in unpadded base64url."""
    point = b64url_decode(p256dh.replace("+", "-").replace("/", "_").rstrip("="))
    secret = b64url_decode(auth.replace("+", "-").replace("/", "_").rstrip("="))
    if len(point) != P256_POINT_BYTES or point[0] != 4 or len(secret) != AUTH_SECRET_BYTES:
        raise PushError(BAD_SUBSCRIPTION)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise PushError(BAD_SUBSCRIPTION) from None
    return b64url_encode(point), b64url_encode(secret)


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """A public unicast address (or loopback, when tests allow it)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def _host_allowed(parts: SplitResult, *, allow_loopback: bool) -> bool:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return address_allowed(host, allow_loopback=allow_loopback)
    if host == "localhost" or host.endswith(".localhost"):
        return allow_loopback and host == "localhost"
    # A name without a dot only means something on a local network.
    return "." in host and all(c.isalnum() or c in "-." for c in host)


def check_endpoint(endpoint: str, *, allow_insecure_localhost: bool) -> str:
    """The endpoint, if the server will send to it; ``PushError`` otherwise."""
    if not endpoint or len(endpoint) > MAX_ENDPOINT or not endpoint.isascii():
        raise PushError(REFUSED_ENDPOINT)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in endpoint):
        raise PushError(REFUSED_ENDPOINT)
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise PushError(REFUSED_ENDPOINT) from None
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise PushError(REFUSED_ENDPOINT)
    local = allow_insecure_localhost and (parts.hostname or "") in LOOPBACK_NAMES
    if local:
        if parts.scheme not in ("http", "https"):
            raise PushError(REFUSED_ENDPOINT)
    elif parts.scheme != "https" or port not in (None, 443):
        raise PushError(REFUSED_ENDPOINT)
    if not _host_allowed(parts, allow_loopback=local):
        raise PushError(REFUSED_ENDPOINT)
    return endpoint


def origin_of(endpoint: str) -> str:
    """``scheme://host[:port]``: the only part of an endpoint that may be logged."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def check_subscription(data: Any, *, allow_insecure_localhost: bool) -> Subscription:
    """A ``PushSubscription.toJSON()`` object, checked: ``PushError`` if it is not one."""
    if not isinstance(data, dict):
        raise PushError(BAD_SUBSCRIPTION)
    endpoint, keys = data.get("endpoint"), data.get("keys")
    expires = data.get("expirationTime")
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        raise PushError(BAD_SUBSCRIPTION)
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int | float)):
        raise PushError(BAD_SUBSCRIPTION)
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise PushError(BAD_SUBSCRIPTION)
    checked = check_endpoint(endpoint, allow_insecure_localhost=allow_insecure_localhost)
    return Subscription(checked, *check_keys(p256dh, auth))


class RefusedAddress(OSError):
    """A connection to an address push may not reach (see the module's docstring)."""


def guarded_socket(*, allow_loopback: bool) -> Callable[[Any], socket.socket]:
    """A socket factory for the push client's connector: every connection it opens, to
    whatever address a name resolved to, passes ``address_allowed`` first."""

    def make(addr_info: Any) -> socket.socket:
        family, kind, proto, _canonical, address = addr_info
        if not address_allowed(str(address[0]), allow_loopback=allow_loopback):
            raise RefusedAddress("push: refusing to connect to a non-public address")
        return socket.socket(family=family, type=kind, proto=proto)

    return make
