"""Crash safety: the server is killed (SIGKILL, server and worker) in the middle of an upload, then
prepared (`tryon prepare`) and started again on the same data: every completed product is intact,
no partial one is visible, and no stray file is left in the blob store."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request
import uuid

import cv2
import numpy as np
from sqlalchemy import select

from tests.support.server import local_server, new_merchant
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path
from tryon.store.database import Database
from tryon.store.models import ProductRow

FRONT = (PROJECT_ROOT / "assets" / "glasses" / "aviator" / "front.png").read_bytes()


def call(base, method, path, key, body=None, content_type="application/json"):
    request = urllib.request.Request(
        base + path, data=body, method=method, headers={"Authorization": f"Bearer {key}", "Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, data in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_killed_mid_upload_keeps_every_completed_product(tmp_path):
    env = {"TRYON_DATA_DIR": str(tmp_path), "TRYON_MODEL_PATH": str(resolve_model_path())}
    key = new_merchant(tmp_path, "crashy", "Crashy")

    with local_server(env) as (base, pid):
        for index in range(3):
            spec = {"sku": f"lip-{index}", "kind": "lipstick", "spec": {"colour": "#aa2233"}, "published": True}
            assert call(base, "POST", "/api/v1/merchant/products", key, json.dumps(spec).encode())[0] == 201
        body, content_type = multipart({"sku": "frames-ok", "kind": "glasses", "published": "true"}, {"front": FRONT})
        assert call(base, "POST", "/api/v1/merchant/products", key, body, content_type)[0] == 201

        # A large upload, cut off half way by a crash of the whole server.
        noisy = cv2.imencode(".png", np.random.default_rng(1).integers(0, 255, (1800, 1800, 4), np.uint8))[1]
        body, content_type = multipart({"sku": "frames-partial", "kind": "glasses"}, {"front": noisy.tobytes()})
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as connection:
            head = (
                f"POST /api/v1/merchant/products HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {key}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            connection.sendall(head + body[: len(body) // 2])
            time.sleep(0.3)
            os.killpg(pid, signal.SIGKILL)

    with local_server(env) as (base, _):
        listed = json.loads(call(base, "GET", "/api/v1/merchant/products", key)[1])["products"]
        assert sorted(p["sku"] for p in listed) == ["frames-ok", "lip-0", "lip-1", "lip-2"]
        for product in listed:
            status, data = call(base, "GET", f"/api/v1/merchant/products/{product['sku']}/preview", key)
            assert status == 200 and data[:3] == b"\xff\xd8\xff"
        status, image = call(base, "GET", "/api/v1/merchant/products/frames-ok/images/front.png", key)
        stored = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_UNCHANGED)
        assert status == 200 and stored.shape == cv2.imdecode(np.frombuffer(FRONT, np.uint8), -1).shape
    # Every file in the blob store is named by a product, and every product's files are there.
    files = {p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()}
    database = Database(f"sqlite:///{tmp_path / 'tryon.db'}")
    with database.session() as session:
        referenced = {key for assets in session.scalars(select(ProductRow.assets)) for key in assets.values()}
    database.close()
    assert files == referenced


def test_interrupted_blob_write_leaves_nothing_referenced(tmp_path):
    """A blob written just before a crash (no row yet) is collected by `tryon collect-blobs`, which
    `tryon prepare` runs before a server starts."""
    from tryon.store.blobs import LocalBlobStore
    from tryon.store.context import Store
    from tryon.store.maintenance import collect_garbage

    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    database.migrate()
    blobs = LocalBlobStore(tmp_path / "blobs")
    orphan = blobs.put(b"half of an upload that never got its database row")
    (tmp_path / "blobs" / orphan[:2] / ".partial-abc").write_bytes(b"torn")
    assert collect_garbage(Store(database, blobs)) == 0  # too fresh: may be another process's upload
    assert collect_garbage(Store(database, blobs), older_than_s=0) == 1
    assert list(blobs.keys()) == []
    assert not any((tmp_path / "blobs").rglob(".partial-*"))
