import base64
import io
import json
import logging

import cv2
import numpy as np
import pytest

from tests.conftest import FACES
from tests.support.apps import checkout_settings, prepared_app
from tryon.config import PROJECT_ROOT, Settings
from tryon.imaging import decode_image


@pytest.fixture(scope="module")
def client():
    return prepared_app(TESTING=True).test_client()


def post_render(client, photo: bytes, products=("round",), **fields):
    data = {"photo": (io.BytesIO(photo), "photo.jpg"), "sku": list(products), **fields}
    return client.post("/api/v1/render", data=data, content_type="multipart/form-data")


def test_health_and_ready(client):
    assert client.get("/api/v1/health").json == {"status": "ok"}
    assert client.get("/api/v1/ready").json == {"status": "ready"}


def test_products_listed(client):
    ids = [p["sku"] for p in client.get("/api/v1/products").json["products"]]
    assert {"round", "aviator", "cat-eye", "rectangular"} <= set(ids)


@pytest.mark.parametrize("fmt, mime", [("jpeg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")])
def test_render_photo(client, fmt, mime):
    photo = (FACES / "009_neutral.jpg").read_bytes()
    response = post_render(client, photo, format=fmt)
    assert response.status_code == 200 and response.mimetype == mime
    assert response.headers["X-Faces"] == "1"
    fit = json.loads(response.headers["X-Fit"])
    assert 50 < fit["pd_mm"] < 72 and fit["frames_used"] == 1 and fit["advice"]["sku"] == "round"
    rendered, original = decode_image(response.data), decode_image(photo)
    assert rendered.shape == original.shape
    assert (np.abs(rendered.astype(int) - original).max(axis=2) > 10).mean() > 0.003  # the frame was drawn


@pytest.mark.parametrize(
    "photo, products, status, code",
    [
        (b"", ("round",), 400, "invalid_image"),
        (b"GIF89a not supported", ("round",), 400, "invalid_image"),
        (None, ("nope",), 404, "unknown_product"),
        (None, (), 400, "missing_product"),
    ],
)
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
    assert json.loads(response.headers["X-Fit"]) is None
    assert (decode_image(response.data) == 77).all()


def test_demo_page_served(client):
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200 and b"/api/v1/render" in response.data


def test_batch_renders_each_product_from_one_tracking_pass(client):
    photo = (FACES / "061_neutral.jpg").read_bytes()
    data = {"photo": (io.BytesIO(photo), "p.jpg"), "product": ["round", "aviator", "ruby-matte"]}  # previous name
    response = client.post("/api/v1/render/batch", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.json["faces"] == 1
    results = response.json["results"]
    assert [r["sku"] for r in results] == ["round", "aviator", "ruby-matte"]
    images = [decode_image(base64.b64decode(r["image"].split(",", 1)[1])) for r in results]
    assert all(image.shape == decode_image(photo).shape for image in images)
    assert np.abs(images[0].astype(int) - images[1]).mean() > 0.5  # different products, different pictures


def test_photos_leave_no_trace_on_disk_or_in_logs(tmp_path, caplog):
    settings = checkout_settings(tmp_path / "data")
    private_client = prepared_app(settings, TESTING=True).test_client()
    assert private_client.get("/api/v1/products").status_code == 200  # the app opens its database (SQLite's WAL files)
    stored = sorted((tmp_path / "data").rglob("*"))  # the catalogue: database and product images
    photo = (FACES / "103_neutral.jpg").read_bytes()
    with caplog.at_level(logging.DEBUG):
        assert post_render(private_client, photo).status_code == 200
        assert post_render(private_client, b"\xff\xd8\xff broken").status_code == 400
    assert sorted((tmp_path / "data").rglob("*")) == stored
    logged = caplog.text
    assert "JFIF" not in logged and base64.b64encode(photo[:60]).decode()[:40] not in logged


def test_missing_face_model_is_a_clear_503(tmp_path):
    settings = Settings(data_dir=tmp_path, model_path=tmp_path / "absent.task", assets_dir=PROJECT_ROOT / "assets")
    broken = prepared_app(settings, TESTING=True).test_client()
    assert broken.get("/api/v1/ready").status_code == 503
    response = post_render(broken, (FACES / "001_neutral.jpg").read_bytes())
    assert response.status_code == 503 and "tryon fetch-model" in response.json["error"]["message"]
