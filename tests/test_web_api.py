import io

import cv2
import numpy as np
import pytest

from tests.conftest import FACES
from tryon.imaging import decode_image
from tryon.web import create_app


@pytest.fixture(scope="module")
def client():
    return create_app(TESTING=True).test_client()


def post_render(client, photo: bytes, products=("round",), **fields):
    data = {"photo": (io.BytesIO(photo), "photo.jpg"), "product": list(products), **fields}
    return client.post("/api/v1/render", data=data, content_type="multipart/form-data")


def test_health_and_ready(client):
    assert client.get("/api/v1/health").json == {"status": "ok"}
    assert client.get("/api/v1/ready").json == {"status": "ready"}


def test_products_listed(client):
    ids = [p["id"] for p in client.get("/api/v1/products").json["products"]]
    assert {"round", "aviator", "cat-eye", "rectangular"} <= set(ids)


@pytest.mark.parametrize("fmt, mime", [("jpeg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")])
def test_render_photo(client, fmt, mime):
    photo = (FACES / "009_neutral.jpg").read_bytes()
    response = post_render(client, photo, format=fmt)
    assert response.status_code == 200 and response.mimetype == mime
    assert response.headers["X-Faces"] == "1"
    rendered, original = decode_image(response.data), decode_image(photo)
    assert rendered.shape == original.shape
    assert np.abs(rendered.astype(int) - original).mean() > 0.5


@pytest.mark.parametrize("photo, products, status, code", [
    (b"", ("round",), 400, "invalid_image"),
    (b"GIF89a not supported", ("round",), 400, "invalid_image"),
    (None, ("nope",), 404, "unknown_product"),
    (None, (), 400, "missing_product"),
])
def test_bad_requests_are_json_errors(client, photo, products, status, code):
    photo = (FACES / "001_neutral.jpg").read_bytes() if photo is None else photo
    response = post_render(client, photo, products)
    assert response.status_code == status and response.json["error"]["code"] == code


def test_missing_photo_and_huge_body(client):
    response = client.post("/api/v1/render", data={"product": "round"}, content_type="multipart/form-data")
    assert response.status_code == 400 and response.json["error"]["code"] == "missing_photo"
    huge = post_render(client, b"\xff\xd8\xff" + b"0" * (16 * 1024 * 1024))
    assert huge.status_code == 413 and "error" in huge.json


def test_photo_without_face_is_returned_unchanged(client):
    ok, blank = cv2.imencode(".png", np.full((120, 160, 3), 77, np.uint8))
    response = post_render(client, blank.tobytes(), format="png")
    assert response.status_code == 200 and response.headers["X-Faces"] == "0"
    assert response.headers["X-Detection-Status"] == "no_face"
    assert (decode_image(response.data) == 77).all()


def test_demo_page_served(client):
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200 and b"/api/v1/render" in response.data
