"""HTTP hardening: bounded work per request, strict origins, security headers (against the real app)."""

from __future__ import annotations

import io
import statistics
import threading
import time

import pytest
from sqlalchemy import select

from tests.conftest import FACES
from tests.support.apps import checkout_settings, prepared_app
from tryon.config import PROJECT_ROOT
from tryon.store.accounts import create_merchant
from tryon.store.models import Merchant, ProductRow
from tryon.web.api import MAX_PRODUCTS_PER_BATCH, MAX_PRODUCTS_PER_RENDER
from tryon.web.limits import FAILED_KEY_LIMIT, PUBLIC_LIMITS
from tryon.web.tokens import local_secret

PHOTO = (FACES / "009_neutral.jpg").read_bytes()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return prepared_app(checkout_settings(tmp_path_factory.mktemp("hardening")), TESTING=True)


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


def auth(key):
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "red\n", "name": "Red", "kind": "lipstick", "spec": {"colour": "#aa1122"}},  # looks like "red"
        {"sku": "red-2", "name": "Red", "kind": "lipstick", "spec": {"colour": "#aa1122"}, "published": "false"},
        {"sku": "red-3", "name": "Red", "kind": "lipstick", "spec": ["colour"]},
        {"sku": "red-4", "name": "Red", "kind": "lipstick", "spec": "#aa1122"},
        {"sku": "red-5", "name": {"en": "Red"}, "kind": "lipstick", "spec": {"colour": "#aa1122"}},
        {"sku": "red-6", "name": "Red", "kind": "lipstick", "spec": {"colour": "#aa1122"}, "published": [1]},
    ],
)
def test_malformed_product_fields_are_refused_clearly(app, key, body):
    response = app.test_client().post("/api/v1/merchant/products", json=body, headers=auth(key))
    assert response.status_code == 400, response.json


def test_published_takes_only_true_or_false(app, key):
    client = app.test_client()
    body = {"sku": "plum-1", "name": "Plum", "kind": "lipstick", "spec": {"colour": "#7a2048"}, "published": False}
    assert client.post("/api/v1/merchant/products", json=body, headers=auth(key)).json["published"] is False
    assert (
        client.patch("/api/v1/merchant/products/plum-1", json={"published": "yes"}, headers=auth(key)).status_code
        == 400
    )
    assert client.patch("/api/v1/merchant/products/plum-1", json={"published": True}, headers=auth(key)).json[
        "published"
    ]


def test_deeply_nested_json_is_a_400_not_a_500(app, key):
    client = app.test_client()
    nested = "[" * 100_000 + "]" * 100_000
    for path, method, headers in (
        ("/api/v1/events", client.post, {}),
        ("/api/v1/merchant/products", client.post, auth(key)),
    ):
        response = method(path, data=nested, content_type="application/json", headers=headers)
        assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"


def test_makeup_does_not_take_images_and_glasses_specs_must_be_sane(app, key):
    client = app.test_client()
    front = (PROJECT_ROOT / "assets" / "glasses" / "round" / "front.png").read_bytes()
    makeup = {
        "sku": "gloss-x",
        "name": "Gloss",
        "kind": "lipstick",
        "spec": '{"colour": "#aa1122"}',
        "front": (io.BytesIO(front), "front.png"),
    }
    response = client.post(
        "/api/v1/merchant/products", data=makeup, headers=auth(key), content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "no images" in response.json["error"]["message"]
    for spec in ('{"width_mm": NaN}', '{"width_mm": Infinity}', '{"lens_centres_px": [[300, 200], [300, 200]]}'):
        glasses = {
            "sku": "odd-x",
            "name": "Odd",
            "kind": "glasses",
            "spec": spec,
            "front": (io.BytesIO(front), "f.png"),
        }
        response = client.post(
            "/api/v1/merchant/products", data=glasses, headers=auth(key), content_type="multipart/form-data"
        )
        assert response.status_code == 400, spec


def catalogue_of_glasses(app, slug: str, count: int) -> None:
    """A merchant with `count` published glasses, all copies of the demo's round frame (its stored
    images and spec), put straight into the store: as many frames as a real eyewear shop lists."""
    services = app.extensions["tryon"]
    _, _ = create_merchant(services.db, slug, name=slug)
    with services.db.session() as session:
        demo = session.scalar(select(Merchant).where(Merchant.slug == "demo"))
        merchant = session.scalar(select(Merchant).where(Merchant.slug == slug))
        source = session.scalar(select(ProductRow).where(ProductRow.merchant_id == demo.id, ProductRow.sku == "round"))
        session.add_all(
            ProductRow(
                merchant_id=merchant.id,
                sku=f"frame-{i:03d}",
                name=f"Frame {i}",
                kind="glasses",
                spec={**source.spec, "width_mm": 128 + i % 24},
                assets=source.assets,
                published=True,
            )
            for i in range(count)
        )


def median_seconds(action, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_a_300_frame_catalogue_renders_about_as_fast_as_a_small_one(app):
    catalogue_of_glasses(app, "small-shop", 10)
    catalogue_of_glasses(app, "big-shop", 300)
    client = app.test_client()

    def render(slug):
        data = {"photo": (io.BytesIO(PHOTO), "p.jpg"), "sku": "frame-001", "merchant": slug}
        assert client.post("/api/v1/render", data=data, content_type="multipart/form-data").status_code == 200

    render("small-shop"), render("big-shop")  # warm the renderer cache and the trackers
    ratio = median_seconds(lambda: render("big-shop")) / median_seconds(lambda: render("small-shop"))
    assert ratio < 2.0, ratio


def test_cors_preflight_is_answered_for_allowed_origins_only(app, key):
    client = app.test_client()
    client.put("/api/v1/merchant/origins", json={"origins": ["https://shop.example"]}, headers=auth(key))
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Content-Type"}
    allowed = client.options("/api/v1/events?merchant=gamma", headers={"Origin": "https://shop.example", **ask})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"] and "Origin" in allowed.headers["Vary"]
    refused = client.options("/api/v1/events?merchant=gamma", headers={"Origin": "https://evil.example", **ask})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers


def test_keys_can_be_rotated_and_revoked(app):
    client = app.test_client()
    old = create_merchant(app.extensions["tryon"].db, "delta", name="Delta")[1]
    issued = client.post("/api/v1/merchant/keys", headers=auth(old))
    assert issued.status_code == 201
    new = issued.json["key"]
    listed = client.get("/api/v1/merchant/keys", headers=auth(new)).json["keys"]
    assert [k["prefix"] for k in listed] == [old[:8], new[:8]] and not any(k["revoked"] for k in listed)
    assert all(old not in str(k) and new not in str(k) for k in listed)  # keys are never shown again
    assert client.delete(f"/api/v1/merchant/keys/{old[:8]}", headers=auth(new)).status_code == 200
    assert client.get("/api/v1/merchant/me", headers=auth(old)).status_code == 401  # at once
    assert client.get("/api/v1/merchant/me", headers=auth(new)).status_code == 200
    missing = client.delete("/api/v1/merchant/keys/zzzzzzzz", headers=auth(new))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "unknown_key"


def test_keys_are_revoked_from_the_command_line(tmp_path, monkeypatch, capsys):
    from tryon.cli import main
    from tryon.store.accounts import authenticate
    from tryon.store.database import Database

    monkeypatch.setenv("TRYON_DATA_DIR", str(tmp_path))
    assert main(["merchant", "create", "epsilon"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["merchant", "keys", "epsilon"]) == 0
    listing = capsys.readouterr().out
    assert key[:8] in listing and key not in listing
    assert main(["merchant", "revoke", "epsilon", "--key", key]) == 0
    assert authenticate(Database(f"sqlite:///{tmp_path / 'tryon.db'}"), key) is None
    assert main(["merchant", "revoke", "epsilon", "--key", key]) == 1  # nothing active left by that prefix


def test_concurrent_image_and_spec_changes_both_hold(app, key):
    """Replacing a product's images while its spec is edited: both answer 200 and both changes stay
    (each update writes only the columns it was asked to), over 20 rounds."""
    glasses_dir = PROJECT_ROOT / "assets" / "glasses"
    fronts = [(glasses_dir / style / "front.png").read_bytes() for style in ("round", "rectangular")]
    client = app.test_client()
    data = {
        "sku": "race-1",
        "name": "Race",
        "kind": "glasses",
        "spec": '{"width_mm": 130}',
        "front": (io.BytesIO(fronts[0]), "front.png"),
    }
    assert (
        client.post(
            "/api/v1/merchant/products", data=data, headers=auth(key), content_type="multipart/form-data"
        ).status_code
        == 201
    )
    answers: dict[str, int] = {}

    def edit_spec(width: int) -> None:
        answers["spec"] = (
            app.test_client()
            .patch("/api/v1/merchant/products/race-1", json={"spec": {"width_mm": width}}, headers=auth(key))
            .status_code
        )

    def replace_front(front: bytes) -> None:
        answers["images"] = (
            app.test_client()
            .put(
                "/api/v1/merchant/products/race-1/images",
                data={"front": (io.BytesIO(front), "front.png")},
                headers=auth(key),
                content_type="multipart/form-data",
            )
            .status_code
        )

    stored = []
    for round_index in range(20):
        width = 130 + round_index
        threads = [
            threading.Thread(target=edit_spec, args=(width,)),
            threading.Thread(target=replace_front, args=(fronts[(round_index + 1) % 2],)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert answers == {"spec": 200, "images": 200}
        assert client.get("/api/v1/merchant/products/race-1", headers=auth(key)).json["spec"]["width_mm"] == width
        stored.append(client.get("/api/v1/merchant/products/race-1/images/front.png", headers=auth(key)).data)
    # The front alternates round after round: no image replacement was undone by the spec edit.
    assert all(stored[i] != stored[i - 1] and stored[i] == stored[i - 2] for i in range(2, 20))
    assert client.delete("/api/v1/merchant/products/race-1", headers=auth(key)).status_code == 204
    gone = client.patch("/api/v1/merchant/products/race-1", json={"name": "Late"}, headers=auth(key))
    assert gone.status_code == 404


def test_an_edit_made_on_an_old_version_is_a_conflict(app, key):
    """GET gives the version as ETag; an edit with If-Match applies only to that version (409 after
    another change), and moves the product to the next version."""
    client = app.test_client()
    body = {"sku": "plum-v", "name": "Plum", "kind": "lipstick", "spec": {"colour": "#7a2048"}}
    created = client.post("/api/v1/merchant/products", json=body, headers=auth(key))
    assert created.status_code == 201 and created.json["version"] == 1 and created.headers["ETag"] == '"1"'
    path = "/api/v1/merchant/products/plum-v"
    first = client.patch(path, json={"name": "Plum 1"}, headers={**auth(key), "If-Match": '"1"'})
    assert first.status_code == 200 and first.json["version"] == 2 and first.headers["ETag"] == '"2"'
    stale = client.patch(path, json={"name": "Plum stale"}, headers={**auth(key), "If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "version_conflict"
    assert client.get(path, headers=auth(key)).json["name"] == "Plum 1"
    bad = client.patch(path, json={"name": "x"}, headers={**auth(key), "If-Match": "*, 2"})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_if_match"
    unchanged = client.patch(path, json={"name": "Plum 1"}, headers=auth(key))
    assert unchanged.status_code == 200 and unchanged.json["version"] == 2  # nothing changed, no new version


def test_concurrent_edits_of_the_same_spec_both_hold(app, key):
    """Two edits of different fields of one spec at once: the later writer merges again into the row
    the earlier one wrote (version check), so neither field's change is lost, over 20 rounds."""
    client = app.test_client()
    body = {"sku": "plum-race", "name": "Plum", "kind": "lipstick", "spec": {"colour": "#7a2048", "opacity": 0.5}}
    assert client.post("/api/v1/merchant/products", json=body, headers=auth(key)).status_code == 201
    answers: list[int] = []

    def edit(spec: dict) -> None:
        response = app.test_client().patch(
            "/api/v1/merchant/products/plum-race", json={"spec": spec}, headers=auth(key)
        )
        answers.append(response.status_code)

    for round_index in range(20):
        colour, opacity = f"#7a20{round_index + 16:02x}", round(0.3 + 0.02 * round_index, 2)
        threads = [
            threading.Thread(target=edit, args=({"colour": colour},)),
            threading.Thread(target=edit, args=({"opacity": opacity},)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        spec = client.get("/api/v1/merchant/products/plum-race", headers=auth(key)).json["spec"]
        assert (spec["colour"], spec["opacity"]) == (colour, opacity), round_index
    assert answers == [200] * 40


def test_failed_key_attempts_are_limited_per_address(app, key):
    """Guessing keys: after FAILED_KEY_LIMIT wrong keys from one address, that address gets 429 with
    Retry-After, even with a right key, while other addresses and successful calls are unaffected."""
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    honest = app.test_client()
    honest.environ_base["REMOTE_ADDR"] = "10.9.9.10"
    allowed = int(FAILED_KEY_LIMIT.split()[0])
    for _ in range(3 * allowed):  # successful calls never count
        assert guesser.get("/api/v1/merchant/me", headers=auth(key)).status_code == 200
    answers = [
        guesser.get("/api/v1/merchant/me", headers=auth(f"tok_guess{i}")).status_code for i in range(allowed + 1)
    ]
    assert answers == [401] * allowed + [429]
    blocked = guesser.get("/api/v1/merchant/me", headers=auth(key))
    assert blocked.status_code == 429 and blocked.json["error"]["code"] == "rate_limited"
    assert int(blocked.headers["Retry-After"]) > 0
    assert honest.get("/api/v1/merchant/me", headers=auth(key)).status_code == 200


def test_public_endpoints_are_limited_per_address(app):
    """A batch render per address is limited to PUBLIC_LIMITS' rate (cheap refusals count too)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.9.11"
    allowed = int(PUBLIC_LIMITS["api.render_batch"].split()[0])
    answers = [
        client.post("/api/v1/render/batch", data={"sku": "round"}, content_type="multipart/form-data").status_code
        for _ in range(allowed + 1)
    ]
    assert answers == [400] * allowed + [429]
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.9.12"
    assert (
        other.post("/api/v1/render/batch", data={"sku": "round"}, content_type="multipart/form-data").status_code == 400
    )


def test_a_host_the_service_does_not_answer_to_is_refused(app):
    """DNS rebinding: a page of evil.example whose name points at the service sends Host: evil.example
    and Origin: http://evil.example, which would look same-origin; such a Host is a 400."""
    client = app.test_client()
    rebound = client.get("/api/v1/products", headers={"Host": "evil.example", "Origin": "http://evil.example"})
    assert rebound.status_code == 400 and rebound.json["error"]["code"] == "bad_request"
    assert "evil.example" in rebound.json["error"]["message"]
    assert client.get("/api/v1/products", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/api/v1/health", headers={"Host": "localhost"}).status_code == 200


def test_limits_turned_off_leave_every_endpoint_working(tmp_path):
    """TRYON_RATE_LIMITS=0 (load tests from one address): the limited views still answer once the
    limiter is no longer referenced by the factory (it is kept by the app, not collected)."""
    import gc

    client = prepared_app(checkout_settings(tmp_path, rate_limits=False), TESTING=True).test_client()
    gc.collect()
    allowed = int(PUBLIC_LIMITS["api.widget_event"].split()[0])
    answers = {client.post("/api/v1/events", json={}).status_code for _ in range(allowed + 1)}
    assert answers == {400}  # the body's fault every time: never 429, never a 500


def test_workers_starting_at_once_share_one_signing_key(tmp_path):
    """A worker per core makes the key on first use at the same moment: all read one whole key."""
    keys, start = [], threading.Barrier(8)

    def first_use():
        start.wait()
        keys.append(local_secret(tmp_path))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
