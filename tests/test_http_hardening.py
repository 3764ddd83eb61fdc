"""HTTP hardening: bounded work per request, strict origins, security headers (against the real app)."""

from __future__ import annotations

import io

import pytest

from tests.conftest import FACES
from tests.support.apps import prepared_app
from tryon.config import PROJECT_ROOT, Settings
from tryon.model_file import resolve_model_path
from tryon.store.accounts import create_merchant
from tryon.web.api import MAX_PRODUCTS_PER_BATCH, MAX_PRODUCTS_PER_RENDER

PHOTO = (FACES / "009_neutral.jpg").read_bytes()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hardening"),
        model_path=resolve_model_path(),
        assets_dir=PROJECT_ROOT / "assets",
    )
    return prepared_app(settings, TESTING=True)


@pytest.fixture(scope="module")
def key(app):
    return create_merchant(app.extensions["tryon"].db, "gamma", name="Gamma")[1]


def post_photo(client, path, skus):
    data = {"photo": (io.BytesIO(PHOTO), "p.jpg"), "sku": skus}
    return client.post(path, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("path", "limit"), [("/api/v1/render", MAX_PRODUCTS_PER_RENDER), ("/api/v1/render/batch", MAX_PRODUCTS_PER_BATCH)]
)
def test_a_request_cannot_ask_for_unbounded_work(app, path, limit):
    client = app.test_client()
    refused = post_photo(client, path, [f"p{i}" for i in range(limit + 1)])
    assert refused.status_code == 400 and refused.json["error"]["code"] == "too_many_products"
    repeated = post_photo(client, path, ["round"] * (10 * limit))  # repeats count once
    assert repeated.status_code == 200


def test_looks_count_with_their_products(app):
    response = post_photo(app.test_client(), "/api/v1/render", ["evening", "natural", "glossy", "golden-hour"])
    assert response.status_code == 400 and response.json["error"]["code"] == "too_many_products"


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example *",
        "https://a.example;sandbox",
        "https://user@a.example",
        "https://a.example/path",
        "https://a.example?x=1",
        "javascript://a.example",
        "https://a..example",
        "https://",
    ],
)
def test_only_plain_origins_are_accepted(app, key, origin):
    response = app.test_client().put(
        "/api/v1/merchant/origins", json={"origins": [origin]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_origin", origin


def test_origins_are_normalised(app, key):
    response = app.test_client().put(
        "/api/v1/merchant/origins",
        json={"origins": ["HTTPS://Shop.Example:8443/"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.json == {"origins": ["https://shop.example:8443"]}


def test_security_headers(app, key):
    client = app.test_client()
    health = client.get("/api/v1/health")
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert "Origin" in health.headers.get("Vary", "")
    products = client.get("/api/v1/products")
    assert "Origin" in products.headers.get("Vary", "")
    dashboard = client.get("/dashboard")
    assert dashboard.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]
    private = client.get("/api/v1/merchant/me", headers={"Authorization": f"Bearer {key}"})
    assert private.status_code == 200 and private.headers["Cache-Control"] == "no-store"
