"""The shared renderer cache: bounded, fair across merchants, never serving an old version."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tryon.store.catalog import RendererCache
from tryon.store.records import ProductRecord


class NoBlobs:
    """Makeup products have no images: a blob store that must never be read."""

    def get(self, key: str) -> bytes:
        raise AssertionError(f"blob {key} read")


def lipstick(product_id: int, merchant_id: int, version: int = 1) -> ProductRecord:
    now = datetime.now(UTC)
    spec = {"type": "lipstick", "colour": "#aa1122"}
    return ProductRecord(
        product_id, merchant_id, f"red-{product_id}", "Red", "lipstick", spec, {}, True, now, now, version
    )


def test_a_huge_catalogue_evicts_only_its_own_renderers():
    cache = RendererCache(size=20)
    small = [lipstick(product_id, merchant_id=2) for product_id in range(1000, 1005)]
    built = {product.id: cache.get(product, NoBlobs()) for product in small}
    for product_id in range(300):  # a crawler walking merchant 1's 300 products, twice
        cache.get(lipstick(product_id, merchant_id=1), NoBlobs())
        cache.get(lipstick(product_id, merchant_id=1), NoBlobs())
    assert cache.held() == {1: 15, 2: 5}
    assert all(cache.get(product, NoBlobs()) is built[product.id] for product in small)  # still cached


def test_the_largest_holder_gives_way_and_old_versions_go():
    cache = RendererCache(size=6)
    for product_id in range(6):
        cache.get(lipstick(product_id, merchant_id=1), NoBlobs())
    for product_id in range(10, 13):
        cache.get(lipstick(product_id, merchant_id=2), NoBlobs())
    assert cache.held() == {1: 3, 2: 3}
    first = cache.get(lipstick(10, merchant_id=2), NoBlobs())
    edited = replace(lipstick(10, merchant_id=2), version=2)
    assert cache.get(edited, NoBlobs()) is not first
    assert cache.held() == {1: 3, 2: 3}  # version 1 went when version 2 came
