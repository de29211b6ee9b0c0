"""A Web Push service on a loopback port, for tests: it stands where a browser vendor's
push service would, and checks what Lykta sends it as a real one would.

``subscribe()`` plays the browser: it makes a device key pair (P-256) and a 16-byte
authentication secret and returns what ``PushSubscription.toJSON()`` would, with an
endpoint ``http://127.0.0.1:PORT/push/<id>``. A POST to that endpoint must carry
``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292) with a valid ES256 signature,
``aud`` equal to the endpoint's origin, ``exp`` in the future and within 24 hours, a
``sub``; ``Content-Encoding: aes128gcm`` and a ``TTL``. The body is decrypted with the
device's private key and secret (RFC 8291/8188) and recorded. Anything wrong is answered
401/403/400 and recorded as a refusal. ``answer(endpoint, 410)`` makes the service answer
that status for one device; ``hold(endpoint)`` keeps its requests waiting until
``release()``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_EXP_SECONDS = 24 * 3600


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None = None
    """The VAPID key the browser subscribed with; requests signed with another are refused."""

    def to_json(self) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass(frozen=True)
class Delivery:
    """A request that verified and decrypted."""

    endpoint: str
    payload: bytes
    claims: dict[str, Any]
    vapid_key: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.payload.decode("utf-8"))


@dataclass(frozen=True)
class Refusal:
    endpoint: str
    status: int
    reason: str


class VerificationError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_authorization(header: str) -> tuple[str, str]:
    """``vapid t=<jwt>, k=<key>`` → (jwt, key)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise VerificationError(401, f"authorization scheme {scheme!r} is not vapid")
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        params[name.strip()] = value.strip()
    if not params.get("t") or not params.get("k"):
        raise VerificationError(401, "authorization needs t= and k=")
    return params["t"], params["k"]


def verify_jwt(token: str, key: str, audience: str, now: float | None = None) -> dict[str, Any]:
    """The claims of an ES256 JWT signed by ``key`` (raw P-256 point, base64url)."""
    now = time.time() if now is None else now
    try:
        head_b64, claims_b64, signature_b64 = token.split(".")
        head = json.loads(unb64url(head_b64))
        claims = json.loads(unb64url(claims_b64))
        signature = unb64url(signature_b64)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    except (ValueError, binascii.Error, json.JSONDecodeError) as exc:
        raise VerificationError(401, f"malformed token or key: {exc}") from None
    if not isinstance(head, dict) or not isinstance(claims, dict):
        raise VerificationError(401, "header and claims must be objects")
    if head.get("alg") != "ES256" or len(signature) != 64:
        raise VerificationError(401, "not an ES256 token")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VerificationError(401, "bad signature") from None
    if claims.get("aud") != audience:
        raise VerificationError(401, f"aud {claims.get('aud')!r} is not {audience!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + MAX_EXP_SECONDS:
        raise VerificationError(401, f"exp {exp!r} is not within the next 24 hours")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise VerificationError(401, "no sub")
    return dict(claims)


class PushService:
    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.deliveries: list[Delivery] = []
        self.refusals: list[Refusal] = []
        self.attempts: list[str] = []
        """Every endpoint posted to, in order, whatever the answer."""
        self._answers: dict[str, int] = {}
        self._holds: dict[str, threading.Event] = {}
        self._changed = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # Polled every 50 ms for shutdown (0.5 s by default, on every test that uses it).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> PushService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> PushService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- what a test tells it -------------------------------------------------------

    def subscribe(self, application_server_key: str | None = None) -> dict[str, Any]:
        """A new device's ``PushSubscription.toJSON()``."""
        device_id = secrets.token_urlsafe(16)
        device = Device(
            id=device_id,
            endpoint=f"{self.origin}/push/{device_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=secrets.token_bytes(16),
            application_server_key=application_server_key,
        )
        with self._changed:
            self.devices[device.endpoint] = device
        return device.to_json()

    def answer(self, endpoint: str, status: int) -> None:
        """Answer ``status`` to every request for this device from now on."""
        with self._changed:
            self._answers[endpoint] = status

    def hold(self, endpoint: str) -> None:
        """Keep requests for this device waiting (until ``release``)."""
        with self._changed:
            self._holds[endpoint] = threading.Event()

    def release(self) -> None:
        with self._changed:
            holds, self._holds = self._holds, {}
        for event in holds.values():
            event.set()

    def wait(self, predicate: Any, timeout: float = 15.0) -> None:
        """Until ``predicate(self)`` is true (raises ``TimeoutError`` after ``timeout``)."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout=timeout):
                raise TimeoutError("the push service did not see what the test waited for")

    def deliveries_to(self, endpoint: str) -> list[Delivery]:
        with self._changed:
            return [d for d in self.deliveries if d.endpoint == endpoint]

    def wait_for_delivery(self, endpoint: str, count: int = 1) -> list[Delivery]:
        self.wait(lambda s: len([d for d in s.deliveries if d.endpoint == endpoint]) >= count)
        return self.deliveries_to(endpoint)

    # ----- the push service -----------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        endpoint = self.origin + request.path
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        with self._changed:
            device = self.devices.get(endpoint)
            status = self._answers.get(endpoint)
            hold = self._holds.get(endpoint)
            self.attempts.append(endpoint)
            self._changed.notify_all()
        if hold is not None:
            hold.wait(timeout=60)
        if device is None:
            self._reply(request, 404, endpoint, "no such subscription")
            return
        if status is not None:
            self._reply(request, status, endpoint, f"told to answer {status}")
            return
        try:
            delivery = self._verify(request, device, body)
        except VerificationError as exc:
            self._reply(request, exc.status, endpoint, exc.reason)
            return
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()
        request.send_response(201)
        request.send_header("Location", f"{endpoint}/messages/{secrets.token_hex(8)}")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _reply(self, request: BaseHTTPRequestHandler, status: int, endpoint: str, why: str) -> None:
        with self._changed:
            self.refusals.append(Refusal(endpoint, status, why))
            self._changed.notify_all()
        data = why.encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _verify(self, request: BaseHTTPRequestHandler, device: Device, body: bytes) -> Delivery:
        headers = {k.lower(): v for k, v in request.headers.items()}
        token, key = parse_authorization(headers.get("authorization", ""))
        parts = urlsplit(device.endpoint)
        claims = verify_jwt(token, key, f"{parts.scheme}://{parts.netloc}")
        if device.application_server_key and key != device.application_server_key:
            raise VerificationError(403, "signed with another key than the subscription's")
        if headers.get("content-encoding") != "aes128gcm":
            raise VerificationError(400, "Content-Encoding is not aes128gcm")
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            raise VerificationError(400, "no TTL")
        try:
            payload = http_ece.decrypt(
                body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
            )
        except Exception as exc:  # http_ece raises several kinds
            raise VerificationError(400, f"cannot decrypt: {type(exc).__name__}") from None
        return Delivery(device.endpoint, payload, claims, key, headers)
