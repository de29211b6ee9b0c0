"""The test suite's local push service accepts what a real one would, and nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from lykta.push.keys import public_key_text
from tests.support.pushservice import PushService


@pytest.fixture
def service() -> Iterator[PushService]:
    with PushService() as running:
        yield running


def vapid() -> tuple[Vapid02, str]:
    signer = Vapid02()
    signer.generate_keys()
    return signer, public_key_text(signer.private_key)


def send(subscription: dict[str, Any], signer: Vapid02, **claims: Any) -> None:
    webpush(
        subscription,
        '{"title": "Hej"}',
        vapid_private_key=signer,
        vapid_claims={"sub": "mailto:test@localhost", **claims},
        ttl=60,
        timeout=10,
    )


def test_a_correctly_signed_push_is_decrypted_and_recorded(service: PushService) -> None:
    signer, public = vapid()
    subscription = service.subscribe(application_server_key=public)
    send(subscription, signer)
    [delivery] = service.deliveries_to(subscription["endpoint"])
    assert delivery.json() == {"title": "Hej"}
    assert delivery.claims["aud"] == service.origin
    assert delivery.headers["ttl"] == "60"


def test_a_wrong_signature_is_refused(service: PushService) -> None:
    signer, _ = vapid()
    _, other = vapid()
    subscription = service.subscribe()
    token = signer.sign({"sub": "mailto:test@localhost", "aud": service.origin})
    forged = token["Authorization"].split(",k=")[0] + ",k=" + other
    response = httpx.post(
        subscription["endpoint"],
        headers={"Authorization": forged, "Content-Encoding": "aes128gcm", "TTL": "0"},
        content=b"x",
    )
    assert response.status_code == 401
    assert service.refusals[-1].reason == "bad signature"
    assert service.deliveries == []


def test_a_key_other_than_the_subscriptions_is_refused(service: PushService) -> None:
    _, public = vapid()
    intruder, _ = vapid()
    subscription = service.subscribe(application_server_key=public)
    with pytest.raises(WebPushException) as refused:
        send(subscription, intruder)
    assert refused.value.status_code == 403
    assert service.deliveries == []


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "https://push.example.net"}, "aud"),
        ({"exp": int(time.time()) + 2 * 24 * 3600}, "exp"),
    ],
)
def test_wrong_claims_are_refused(
    service: PushService, claims: dict[str, Any], reason: str
) -> None:
    signer, _ = vapid()
    subscription = service.subscribe()
    with pytest.raises(WebPushException) as refused:
        send(subscription, signer, **claims)
    assert refused.value.status_code == 401
    assert service.refusals[-1].reason.startswith(reason)


def test_it_answers_what_it_is_told(service: PushService) -> None:
    signer, _ = vapid()
    subscription = service.subscribe()
    service.answer(subscription["endpoint"], 410)
    with pytest.raises(WebPushException) as gone:
        send(subscription, signer)
    assert gone.value.status_code == 410
