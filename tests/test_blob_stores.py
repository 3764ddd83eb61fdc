"""Both blob stores behave the same: a local directory, and an S3-compatible service (moto's S3
server on loopback, spoken to over HTTP by boto3 exactly as AWS or MinIO would be)."""

from __future__ import annotations

import pytest

from tests.support.apps import checkout_settings, prepared_app
from tryon.store.blobs import LocalBlobStore, S3BlobStore, blob_key


@pytest.fixture(scope="module")
def s3_endpoint():
    moto_server = pytest.importorskip("moto.server")
    import boto3

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("TRYON_S3_ENDPOINT", endpoint),
        ):
            patch.setenv(name, value)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="catalogue")
        yield endpoint
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3BlobStore("catalogue", f"test-{tmp_path.name}", endpoint)


def test_put_get_delete_list(store):
    data = b"\x89PNG pretend image bytes"
    key = store.put(data)
    assert key == blob_key(data) and store.put(data) == key  # content addressed, idempotent
    assert store.get(key) == data
    assert list(store.keys()) == [key]
    assert list(store.keys(older_than_s=3600)) == []  # just written: not yet a garbage candidate
    store.delete(key)
    assert list(store.keys()) == []
    with pytest.raises(KeyError):
        store.get(key)


def test_service_runs_on_s3_storage(s3_endpoint, tmp_path):
    settings = checkout_settings(tmp_path, storage_url="s3://catalogue/service", s3_endpoint=s3_endpoint)
    client = prepared_app(settings, TESTING=True).test_client()
    image = client.get("/api/v1/products/aviator/front.png")
    assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "blobs").exists()  # the images live in the bucket
    stored = list(S3BlobStore("catalogue", "service", s3_endpoint).keys())
    assert len(stored) >= 4
