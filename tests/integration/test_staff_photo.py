"""A worker's optional photo: uploaded, stripped of camera metadata, served, removed."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from tests.integration.staff_helpers import browser
from tests.support.server import Seed, ServerThread, csrf_of, http_login

GPS_IFD = 0x8825


def camera_jpeg() -> bytes:
    """A phone-like photo: 800x600 with the camera's GPS position and model in EXIF."""
    image = Image.new("RGB", (800, 600), (200, 80, 40))
    exif = Image.Exif()
    exif[0x0110] = "Telefon X-42"  # camera model
    exif[GPS_IFD] = {1: "N", 2: (57.0, 39.0, 20.0), 3: "E", 4: (12.0, 1.0, 3.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert b"Telefon X-42" in data
    return data


def upload(client: httpx.Client, data: bytes, name: str = "me.jpg") -> httpx.Response:
    csrf = csrf_of(client.get("/app/profile").text)
    return client.post(
        "/app/profile/photo", data={"csrf": csrf}, files={"photo": (name, data, "image/jpeg")}
    )


def test_photo_is_re_encoded_without_camera_data_and_served(
    server: ServerThread, seeded: Seed
) -> None:
    with browser(server) as client:
        http_login(client, seeded.workers["Bo"])
        assert upload(client, camera_jpeg()).status_code == 303
        profile = client.get("/app/profile").text
        found = re.search(r'src="(/photos/[\w-]+\.jpg)"', profile)
        assert found
        url = found.group(1)
    with browser(server) as anyone:  # young people see it: no login needed
        response = anyone.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert b"Telefon X-42" not in response.content
    with Image.open(io.BytesIO(response.content)) as served:
        assert served.size == (256, 256)
        exif = served.getexif()
        assert GPS_IFD not in exif
        assert 0x0110 not in exif


def test_not_a_picture_is_refused_clearly(server: ServerThread, seeded: Seed) -> None:
    with browser(server) as client:
        http_login(client, seeded.workers["Bo"])
        for data in (b"<svg onload=alert(1)>", b"GIF89a" + b"\0" * 100, b"", b"\xff\xd8\xff" * 9):
            response = upload(client, data)
            assert response.status_code == 400
            assert 'data-testid="profile-error"' in response.text
        assert "/photos/" not in client.get("/app/profile").text


def test_removed_or_replaced_photo_is_gone_from_its_old_address(
    server: ServerThread, seeded: Seed
) -> None:
    with browser(server) as client:
        http_login(client, seeded.workers["Bo"])
        upload(client, camera_jpeg())
        first = re.findall(r'src="(/photos/[\w-]+\.jpg)"', client.get("/app/profile").text)[0]
        upload(client, camera_jpeg())
        second = re.findall(r'src="(/photos/[\w-]+\.jpg)"', client.get("/app/profile").text)[0]
        assert first != second
        assert client.get(first).status_code == 404
        csrf = csrf_of(client.get("/app/profile").text)
        assert client.post("/app/profile/photo/remove", data={"csrf": csrf}).status_code == 303
        assert client.get(second).status_code == 404
        assert client.get("/photos/not-a-token.jpg").status_code == 404
