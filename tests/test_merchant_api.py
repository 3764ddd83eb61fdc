"""The merchant API: auth, catalogue CRUD, uploads (good and bad), isolation between merchants,
publishing, embed origins, analytics, previews and the OpenAPI document."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib

import cv2
import numpy as np
import pytest

from tests.support.apps import checkout_settings, prepared_app
from tryon.config import PROJECT_ROOT
from tryon.imaging import decode_image, encode_image
from tryon.store.accounts import create_merchant
from tryon.store.products import OVERLAY_MAX_SIDE

ROUND = PROJECT_ROOT / "assets" / "glasses" / "round"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data = tmp_path_factory.mktemp("merchant-data")
    return prepared_app(checkout_settings(data), TESTING=True)


@pytest.fixture(scope="module")
def keys(app):
    db = app.extensions["tryon"].db
    return {slug: create_merchant(db, slug, name=slug.title())[1] for slug in ("alpha", "beta")}


@pytest.fixture()
def client(app):
    return app.test_client()


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def lipstick(sku="red-1", **spec):
    return {"sku": sku, "name": "Red", "kind": "lipstick", "spec": {"colour": "#aa1122", **spec}}


def glasses_upload(client, key, sku, front: bytes, **fields):
    data = {
        "sku": sku,
        "name": fields.pop("name", "Frames"),
        "kind": "glasses",
        "spec": json.dumps(fields.pop("spec", {"width_mm": 138})),
        "front": (io.BytesIO(front), "front.png"),
        **fields,
    }
    return client.post("/api/v1/merchant/products", data=data, headers=auth(key), content_type="multipart/form-data")


def skus(client, key):
    return [p["sku"] for p in client.get("/api/v1/merchant/products", headers=auth(key)).json["products"]]


def png_claiming(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_every_merchant_call_needs_a_valid_key(client, keys):
    for method, path in (
        ("get", "/me"),
        ("get", "/products"),
        ("post", "/products"),
        ("get", "/analytics"),
        ("put", "/origins"),
        ("delete", "/products/x"),
        ("patch", "/products/x"),
    ):
        response = getattr(client, method)(f"/api/v1/merchant{path}")
        assert response.status_code == 401 and response.json["error"]["code"] == "missing_key"
    response = client.get("/api/v1/merchant/me", headers=auth("tok_wrong"))
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_key"
    assert client.get("/api/v1/merchant/me", headers={"X-API-Key": keys["alpha"]}).json["slug"] == "alpha"


def test_makeup_products_from_data(client, keys):
    response = client.post("/api/v1/merchant/products", json=lipstick(finish="gloss"), headers=auth(keys["alpha"]))
    assert response.status_code == 201 and response.json["kind"] == "lipstick"
    assert response.json["published"] is False
    again = client.post("/api/v1/merchant/products", json=lipstick(), headers=auth(keys["alpha"]))
    assert again.status_code == 409
    before = skus(client, keys["alpha"])
    for bad in (
        lipstick("x1", colour="red"),
        lipstick("x2", finish="velvet"),
        lipstick("bad sku!"),
        {"sku": "x3", "kind": "mascara", "spec": {}},
        {"sku": "x4", "kind": "lipstick"},
    ):
        response = client.post("/api/v1/merchant/products", json=bad, headers=auth(keys["alpha"]))
        assert response.status_code == 400 and "error" in response.json, bad
    assert skus(client, keys["alpha"]) == before
    bad_sku = client.post("/api/v1/merchant/products", json=lipstick("bad sku!"), headers=auth(keys["alpha"]))
    assert bad_sku.json["error"]["code"] == "invalid_slug" and "sku" in bad_sku.json["error"]["message"]


def test_glasses_upload_rgba_and_white_background_photo(client, keys):
    key = keys["alpha"]
    response = glasses_upload(client, key, "round-rgba", (ROUND / "front.png").read_bytes())
    assert response.status_code == 201, response.json
    calibration = client.get("/api/v1/merchant/products/round-rgba/calibration", headers=auth(key)).json
    assert len(calibration["detected"]) == 2

    # A packshot: the frame on a plain white background, as a JPEG (no alpha at all).
    rgba = cv2.imread(str(ROUND / "front.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
    alpha = rgba[..., 3:] / 255
    packshot = (rgba[..., :3] * alpha + 250 * (1 - alpha)).astype(np.uint8)
    photo = cv2.imencode(".jpg", packshot, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
    response = glasses_upload(client, key, "round-photo", photo)
    assert response.status_code == 201, response.json
    stored = decode_image(client.get(response.json["images"]["front"], headers=auth(key)).data, keep_alpha=True)
    assert stored[0, 0, 3] == 0 and stored[..., 3].max() == 255  # background gone, frame kept
    detected = client.get("/api/v1/merchant/products/round-photo/calibration", headers=auth(key)).json["detected"]
    assert np.abs(np.array(detected) - np.array(calibration["detected"])).max() < 15


@pytest.mark.parametrize(
    "front, code",
    [
        (b"", "empty_upload"),
        ((ROUND / "front.png").read_bytes()[:3000], "invalid_image"),
        (b"PK\x03\x04 this is a zip file with a .png name", "invalid_image"),
        (png_claiming(20000, 20000), "invalid_image"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(client, keys, front, code):
    before = skus(client, keys["alpha"])
    response = glasses_upload(client, keys["alpha"], "broken", front)
    assert response.status_code == 400 and response.json["error"]["code"] == code
    assert skus(client, keys["alpha"]) == before


def test_huge_body_and_busy_background_are_refused(client, keys):
    before = skus(client, keys["alpha"])
    huge = glasses_upload(client, keys["alpha"], "huge", b"\x89PNG\r\n\x1a\n" + b"\0" * (16 * 1024 * 1024))
    assert huge.status_code == 413 and "error" in huge.json
    noise = np.random.default_rng(0).integers(0, 255, (300, 800, 3), dtype=np.uint8)
    busy = glasses_upload(client, keys["alpha"], "busy", cv2.imencode(".png", noise)[1].tobytes())
    assert busy.status_code == 400 and "background" in busy.json["error"]["message"]
    assert skus(client, keys["alpha"]) == before


def test_merchants_never_see_or_change_each_other(client, keys):
    client.post("/api/v1/merchant/products", json=lipstick("alpha-only"), headers=auth(keys["alpha"]))
    beta = auth(keys["beta"])
    assert "alpha-only" not in skus(client, keys["beta"])
    assert client.get("/api/v1/merchant/products/alpha-only", headers=beta).status_code == 404
    assert client.patch("/api/v1/merchant/products/alpha-only", json={"name": "x"}, headers=beta).status_code == 404
    assert client.delete("/api/v1/merchant/products/alpha-only", headers=beta).status_code == 404
    assert client.get("/api/v1/merchant/products/alpha-only/preview", headers=beta).status_code == 404
    # Beta may use the same SKU for its own product.
    assert client.post("/api/v1/merchant/products", json=lipstick("alpha-only"), headers=beta).status_code == 201
    assert client.get("/api/v1/merchant/products/alpha-only", headers=auth(keys["alpha"])).json["name"] == "Red"


def test_only_published_products_reach_shoppers(client, keys):
    key = auth(keys["alpha"])
    client.post("/api/v1/merchant/products", json=lipstick("launch"), headers=key)
    public = lambda: [p["sku"] for p in client.get("/api/v1/products?merchant=alpha").json["products"]]  # noqa: E731
    assert "launch" not in public()
    assert client.get("/embed/alpha/launch").status_code == 404
    photo = (PROJECT_ROOT / "tests" / "data" / "faces" / "009_neutral.jpg").read_bytes()
    form = {"photo": (io.BytesIO(photo), "p.jpg"), "product": "launch", "merchant": "alpha"}
    assert client.post("/api/v1/render", data=form, content_type="multipart/form-data").status_code == 404
    assert client.patch("/api/v1/merchant/products/launch", json={"published": True}, headers=key).json["published"]
    assert "launch" in public()
    form = {"photo": (io.BytesIO(photo), "p.jpg"), "product": "launch", "merchant": "alpha"}
    assert client.post("/api/v1/render", data=form, content_type="multipart/form-data").status_code == 200


def test_embedding_only_from_allowed_origins(client, keys):
    key = auth(keys["alpha"])
    client.post("/api/v1/merchant/products", json={**lipstick("embed-me"), "published": True}, headers=key)
    refused_list = client.put(
        "/api/v1/merchant/origins", json={"origins": ["https://shop.example/", "ftp://x"]}, headers=key
    )
    assert refused_list.status_code == 400 and refused_list.json["error"]["code"] == "invalid_origin"
    assert client.put("/api/v1/merchant/origins", json={"origins": ["https://shop.example"]}, headers=key).json == {
        "origins": ["https://shop.example"]
    }
    allowed = client.get("/api/v1/products?merchant=alpha", headers={"Origin": "https://shop.example"})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = client.get("/api/v1/products?merchant=alpha", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    page = client.get("/embed/alpha/embed-me")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'self' https://shop.example"


def session_token(client, merchant, sku):
    """The try-on session token the embed page hands its widget."""
    page = client.get(f"/embed/{merchant}/{sku}").get_data(as_text=True)
    return re.search(r'data-session="([^"]+)"', page).group(1)


def test_analytics_count_each_event_once_per_session(client, keys):
    key = auth(keys["alpha"])
    client.post("/api/v1/merchant/products", json={**lipstick("counted"), "published": True}, headers=key)
    first, second = session_token(client, "alpha", "counted"), session_token(client, "alpha", "counted")
    answers = []
    for token, event in (
        (first, "product_tried"),
        (first, "snapshot_taken"),
        (first, "add_to_cart"),
        (first, "add_to_cart"),  # a repeat in the same session
        (second, "add_to_cart"),
    ):
        body = {"merchant": "alpha", "product": "counted", "event": event, "session": token}
        response = client.post("/api/v1/events", data=json.dumps(body))
        assert response.status_code == 200
        answers.append(response.json["recorded"])
    assert answers == [True, True, True, False, True]
    hacked = client.post(
        "/api/v1/events", json={"merchant": "alpha", "sku": "counted", "event": "hacked", "session": first}
    )
    assert hacked.status_code == 400 and hacked.json["error"]["code"] == "invalid_event"
    counts = client.get("/api/v1/merchant/analytics", headers=key).json["products"]["counted"]
    assert counts == {"session": 0, "product_tried": 1, "snapshot_taken": 1, "add_to_cart": 2}


@pytest.mark.parametrize("token", [None, "", "forged", "x.y.z", 42])
def test_events_without_a_genuine_session_are_refused(client, keys, token):
    key = auth(keys["alpha"])
    client.post("/api/v1/merchant/products", json={**lipstick("guarded"), "published": True}, headers=key)
    genuine = session_token(client, "alpha", "guarded")
    forged = {"forged": genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"), "x.y.z": "x.y.z"}
    body = {"merchant": "alpha", "sku": "guarded", "event": "add_to_cart", "session": forged.get(token, token)}
    response = client.post("/api/v1/events", json=body)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_session"
    assert "guarded" not in client.get("/api/v1/merchant/analytics", headers=key).json["products"]


def test_a_session_token_is_for_its_merchant_only(client, keys):
    for slug, name in (("alpha", "a"), ("beta", "b")):
        client.post(
            "/api/v1/merchant/products", json={**lipstick(f"own-{name}"), "published": True}, headers=auth(keys[slug])
        )
    client.put("/api/v1/merchant/origins", json={"origins": ["*"]}, headers=auth(keys["beta"]))
    alphas = session_token(client, "alpha", "own-a")
    borrowed = client.post(
        "/api/v1/events", json={"merchant": "beta", "sku": "own-b", "event": "add_to_cart", "session": alphas}
    )
    assert borrowed.status_code == 400 and borrowed.json["error"]["code"] == "invalid_session"


def test_unknown_merchants_are_named_as_such(client):
    photo = (PROJECT_ROOT / "tests" / "data" / "faces" / "009_neutral.jpg").read_bytes()
    form = {"photo": (io.BytesIO(photo), "p.jpg"), "product": "round", "merchant": "nobody"}
    for response in (
        client.get("/api/v1/products?merchant=nobody"),
        client.get("/embed/nobody/round"),
        client.post("/api/v1/render", data=form, content_type="multipart/form-data"),
        client.post("/api/v1/events", json={"merchant": "nobody", "product": "round", "event": "add_to_cart"}),
    ):
        assert response.status_code == 404 and response.json["error"]["code"] == "unknown_merchant"
        assert "nobody" in response.json["error"]["message"]


def test_previews_calibration_and_delete(client, keys):
    key = auth(keys["alpha"])
    glasses_upload(client, keys["alpha"], "to-calibrate", (ROUND / "front.png").read_bytes())
    preview = client.get("/api/v1/merchant/products/to-calibrate/preview", headers=key)
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert decode_image(preview.data).shape[1] >= 640  # the sample faces side by side
    moved = client.patch(
        "/api/v1/merchant/products/to-calibrate",
        json={"spec": {"lens_centres_px": [[270, 200], [750, 200]]}},
        headers=key,
    )
    assert moved.status_code == 200 and moved.json["spec"]["lens_centres_px"] == [[270, 200], [750, 200]]
    draft = client.post(
        "/api/v1/merchant/preview", json={"kind": "lipstick", "spec": {"colour": "#dd3355"}}, headers=key
    )
    assert draft.status_code == 200 and draft.mimetype == "image/jpeg"
    assert client.delete("/api/v1/merchant/products/to-calibrate", headers=key).status_code == 204
    assert client.get("/api/v1/merchant/products/to-calibrate", headers=key).status_code == 404


def test_openapi_document_covers_the_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/render",
        "/api/v1/merchant/products",
        "/api/v1/merchant/products/{sku}",
        "/api/v1/merchant/origins",
        "/api/v1/merchant/analytics",
        "/api/v1/stream",
    ):
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/merchant/products"]["post"]["security"] == [{"apiKey": []}]
    assert "MakeupSpec" in spec["components"]["schemas"]


def test_draft_preview_only_for_makeup(client, keys):
    response = client.post("/api/v1/merchant/preview", json={"kind": "glasses", "spec": {}}, headers=auth(keys["beta"]))
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_preview"
    bad_colour = client.post(
        "/api/v1/merchant/preview", json={"kind": "blush", "spec": {"colour": "pink"}}, headers=auth(keys["beta"])
    )
    assert bad_colour.status_code == 400 and bad_colour.json["error"]["code"] == "invalid_product"


def test_large_glasses_upload_is_stored_scaled_with_its_calibration(client, keys):
    """An upload larger than the overlay limit is kept at OVERLAY_MAX_SIDE, and the lens centres given
    in the uploaded image's pixels are scaled with it, so they still sit on the lenses."""
    key = keys["alpha"]
    front = cv2.imread(str(ROUND / "front.png"), cv2.IMREAD_UNCHANGED)
    scale = 3.0
    big = cv2.resize(front, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    centres = [[237.5 * scale, 209.5 * scale], [741.5 * scale, 209.5 * scale]]
    spec = {"width_mm": 138, "lens_centres_px": centres}
    response = glasses_upload(client, key, "round-big", encode_image(big, "png"), spec=spec)
    assert response.status_code == 201, response.json
    stored = decode_image(client.get(response.json["images"]["front"], headers=auth(key)).data, keep_alpha=True)
    assert max(stored.shape[:2]) == OVERLAY_MAX_SIDE
    factor = OVERLAY_MAX_SIDE / max(big.shape[:2])
    stored_centres = np.array(response.json["spec"]["lens_centres_px"])
    assert np.allclose(stored_centres, np.array(centres) * factor, atol=0.01)
    detected = client.get("/api/v1/merchant/products/round-big/calibration", headers=auth(key)).json["detected"]
    assert np.abs(np.array(detected) - stored_centres).max() < 6  # the lens holes are where the spec says


def test_a_whole_foundation_range_is_uploaded_at_once(client, keys):
    key = auth(keys["alpha"])
    csv_range = "sku,name,colour\nrange-110,110 Porcelain,#e8c8b0\nrange-220,220 Natural Beige,#c9a07e\n"
    created = client.post(
        "/api/v1/merchant/shade-ranges?published=true", data=csv_range, headers={**key, "Content-Type": "text/csv"}
    )
    assert created.status_code == 201 and created.json == {"created": ["range-110", "range-220"]}
    stored = client.get("/api/v1/merchant/products/range-220", headers=key).json
    assert stored["kind"] == "foundation" and stored["published"] and stored["name"] == "220 Natural Beige"
    again = client.post("/api/v1/merchant/shade-ranges", data=csv_range, headers={**key, "Content-Type": "text/csv"})
    assert again.status_code == 409 and "range-110" in again.json["error"]["message"]
    bad = [{"sku": "range-330", "name": "330", "colour": "#a0704a"}, {"sku": "range 1", "name": "x", "colour": "red"}]
    refused = client.post("/api/v1/merchant/shade-ranges", json=bad, headers=key)
    assert refused.status_code == 400 and "item 2" in refused.json["error"]["message"].lower()
    assert client.get("/api/v1/merchant/products/range-330", headers=key).status_code == 404  # all or nothing
