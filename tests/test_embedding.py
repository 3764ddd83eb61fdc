"""The loader's pre-check (/api/v1/embeddable) and the record of where a merchant's try-on was seen."""

from __future__ import annotations

import pytest

from tests.support.apps import checkout_settings, prepared_app
from tryon.store.accounts import create_merchant
from tryon.store.context import Store
from tryon.store.sightings import SightingLog, last_sighting


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return prepared_app(checkout_settings(tmp_path_factory.mktemp("embedding")), TESTING=True)


@pytest.fixture(scope="module")
def client(app):
    client = app.test_client()
    key = {"Authorization": f"Bearer {create_merchant(app.extensions['tryon'].db, 'nordlys', name='Nordlys')[1]}"}
    lipstick = {"kind": "lipstick", "spec": {"colour": "#aa1133"}}
    client.post(
        "/api/v1/merchant/products", json={"sku": "live", "name": "Live", "published": True, **lipstick}, headers=key
    )
    client.post("/api/v1/merchant/products", json={"sku": "draft", "name": "Draft", **lipstick}, headers=key)
    client.put("/api/v1/merchant/origins", json={"origins": ["https://nordlys.no"]}, headers=key)
    client.key = key  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize(
    "merchant, sku, origin, answer",
    [
        ("nordlys", "live", "https://nordlys.no", {"ok": True}),
        ("nordlys", "draft", "https://nordlys.no", {"ok": False, "reason": "unpublished"}),
        ("nordlys", "nope", "https://nordlys.no", {"ok": False, "reason": "unknown_product"}),
        ("nordlys", "draft", "https://evil.example", {"ok": False, "reason": "origin_not_allowed"}),
        ("nobody", "live", "https://nordlys.no", {"ok": False, "reason": "unknown_merchant"}),
        ("nordlys", "live", None, {"ok": True}),  # the service's own pages
    ],
)
def test_embeddable_answers_for_the_asking_page(client, merchant, sku, origin, answer):
    headers = {"Origin": origin} if origin else {}
    response = client.get(f"/api/v1/embeddable?merchant={merchant}&sku={sku}", headers=headers)
    assert response.status_code == 200 and response.json == answer
    assert response.headers["Cache-Control"] == "no-store"
    if origin:  # readable by the loader on any site, refused or not
        assert response.headers["Access-Control-Allow-Origin"] == origin


def test_the_dashboard_learns_where_the_snippet_runs(app, client):
    app.extensions.pop("tryon.sightings", None)  # a fresh throttle
    client.get("/api/v1/embeddable?merchant=nordlys&sku=live", headers={"Origin": "https://staging.nordlys.no"})
    seen = client.get("/api/v1/merchant/embedding", headers=client.key).json["last_seen"]
    assert seen["origin"] == "https://staging.nordlys.no" and seen["allowed"] is False
    client.put("/api/v1/merchant/origins", json={"origins": ["https://staging.nordlys.no"]}, headers=client.key)
    assert client.get("/api/v1/merchant/embedding", headers=client.key).json["last_seen"]["allowed"] is True


def test_sightings_are_throttled(app):
    db = app.extensions["tryon"].db
    merchant = create_merchant(db, "throttled", name="T")[0]
    log = SightingLog(db, refresh_s=60, switch_s=60)
    assert log.note(merchant.id, "https://a.example")
    assert not log.note(merchant.id, "https://a.example")  # the same again: no write
    assert not log.note(merchant.id, "https://b.example")  # another, too soon: no write
    seen = last_sighting(Store(db, app.extensions["tryon"].blobs).for_merchant(merchant.id))
    assert seen is not None and seen.origin == "https://a.example"
    assert SightingLog(db, refresh_s=0, switch_s=0).note(merchant.id, "https://b.example")
