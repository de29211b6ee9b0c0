"""Which subscriptions the server accepts, and where it lets itself connect."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lykta.push.endpoints import (
    PushError,
    RefusedAddress,
    address_allowed,
    check_endpoint,
    check_keys,
    check_subscription,
    guarded_socket,
)
from tests.support.pushservice import PushService

GOOD_P256DH = (
    "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
)
GOOD_AUTH = "tBHItJI5svbpez7KI4CCXg"


def subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc:def") -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": GOOD_P256DH, "auth": GOOD_AUTH},
    }


def test_a_browsers_subscription_is_accepted() -> None:
    checked = check_subscription(subscription(), allow_insecure_localhost=False)
    assert checked.endpoint == "https://fcm.googleapis.com/fcm/send/abc:def"
    assert (checked.p256dh, checked.auth) == (GOOD_P256DH, GOOD_AUTH)


def test_a_subscription_from_the_local_push_service_is_a_real_one() -> None:
    with PushService() as service:
        made = service.subscribe()
    checked = check_subscription(made, allow_insecure_localhost=True)
    assert checked.endpoint == made["endpoint"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://fcm.googleapis.com:8443/fcm/send/abc",  # not the default port
        "https://user:pw@fcm.googleapis.com/x",  # credentials
        "https://127.0.0.1/push/x",  # loopback
        "https://localhost/push/x",
        "https://10.1.2.3/push/x",  # private
        "https://192.168.0.10/push/x",
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/push/x",
        "https://[::ffff:10.0.0.1]/push/x",
        "https://[fd00::1]/push/x",
        "https://intranet/push/x",  # a name without a dot
        "https://printer.localhost/x",
        "ftp://push.example.com/x",
        "javascript:alert(1)",
        "https://push.example.com/x y",
        "https://push.example.com/x#fragment",
        "",
        "https://push.example.com/" + "a" * 2100,
    ],
)
def test_endpoints_the_server_will_not_send_to(endpoint: str) -> None:
    with pytest.raises(PushError):
        check_endpoint(endpoint, allow_insecure_localhost=False)


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:8123/push/abc", "http://localhost:8123/push/abc", "http://[::1]:9/x"],
)
def test_http_on_loopback_only_when_the_test_setting_allows_it(endpoint: str) -> None:
    with pytest.raises(PushError):
        check_endpoint(endpoint, allow_insecure_localhost=False)
    assert check_endpoint(endpoint, allow_insecure_localhost=True) == endpoint


@pytest.mark.parametrize("endpoint", ["http://10.0.0.1:8123/push/x", "http://example.com/push/x"])
def test_the_test_setting_allows_nothing_else(endpoint: str) -> None:
    with pytest.raises(PushError):
        check_endpoint(endpoint, allow_insecure_localhost=True)


@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        (GOOD_P256DH[:-4], GOOD_AUTH),  # too short
        ("B" + "A" * 86, GOOD_AUTH),  # 65 bytes, but not a point on the curve
        (GOOD_P256DH, GOOD_AUTH[:-2]),  # a secret of 15 bytes
        (GOOD_P256DH, GOOD_AUTH + "AAAA"),  # 19 bytes
        (GOOD_P256DH, "not base64 !"),
        ("", GOOD_AUTH),
        (GOOD_P256DH * 3, GOOD_AUTH),
    ],
)
def test_keys_must_be_a_p256_point_and_a_16_byte_secret(p256dh: str, auth: str) -> None:
    with pytest.raises(PushError):
        check_keys(p256dh, auth)


def test_keys_in_standard_base64_with_padding_are_normalised() -> None:
    padded = GOOD_P256DH.replace("-", "+").replace("_", "/") + "="
    assert check_keys(padded, GOOD_AUTH + "==") == (GOOD_P256DH, GOOD_AUTH)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "https://fcm.googleapis.com/x",
        {"endpoint": "https://fcm.googleapis.com/x"},
        {"endpoint": 5, "keys": {"p256dh": GOOD_P256DH, "auth": GOOD_AUTH}},
        {"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": GOOD_P256DH}},
        {"endpoint": "https://fcm.googleapis.com/x", "keys": [], "expirationTime": None},
        {**subscription(), "expirationTime": "tomorrow"},
        {**subscription(), "expirationTime": True},
    ],
)
def test_malformed_subscriptions_are_refused(data: Any) -> None:
    with pytest.raises(PushError) as refused:
        check_subscription(data, allow_insecure_localhost=True)
    assert refused.value.translated("sv") != refused.value.translated("en")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("142.250.74.10", True),
        ("2a00:1450:4001:82b::200a", True),
        ("127.0.0.1", False),
        ("10.0.0.8", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address checked, not bound
    ],
)
def test_only_public_addresses_are_connected_to(address: str, allowed: bool) -> None:
    assert address_allowed(address, allow_loopback=False) is allowed


def test_the_socket_factory_refuses_what_a_name_resolved_to() -> None:
    """A public-looking host name that resolves to a private address (or an endpoint that
    redirects there) is refused where the connection is made."""
    make = guarded_socket(allow_loopback=False)
    with pytest.raises(RefusedAddress):
        make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 443)))
    with pytest.raises(RefusedAddress):
        make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)))
    with make((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("142.250.74.10", 443))) as ok:
        assert ok.family == socket.AF_INET
    loopback = guarded_socket(allow_loopback=True)
    with loopback((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))) as ok:
        assert ok.family == socket.AF_INET
    with pytest.raises(RefusedAddress):
        loopback((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.1", 443)))
