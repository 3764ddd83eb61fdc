"""Worker memory for the heaviest requests the limits allow: how much a single request adds to the
gunicorn worker's peak resident memory (Linux /proc: VmHWM, reset with clear_refs before each case).

Starts the production server (gunicorn, as scripts/serve.sh does) with a merchant of its own, then
per case: the peak resident memory the request added over what the worker held before it (MB), and
the worker's resident memory after it (what it did not give back). Cases:
- upload-jpeg: a glasses packshot at the upload limits (16 MP JPEG on white, background removed);
- upload-png: the same as an RGBA PNG at 16 MP;
- spec-edit: a spec edit of that product (its stored images are checked again);
- batch: /render/batch with the most products allowed on a photo at the photo pixel limit;
- render: /render with glasses on a photo at the photo pixel limit.

    .venv/bin/python bench/bench_memory.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import local_server, new_merchant  # noqa: E402
from tryon.config import PROJECT_ROOT  # noqa: E402
from tryon.imaging import DEFAULT_MAX_PIXELS, encode_image  # noqa: E402
from tryon.model_file import resolve_model_path  # noqa: E402
from tryon.store.products import PRODUCT_IMAGE_MAX_PIXELS  # noqa: E402
from tryon.web import MAX_UPLOAD_BYTES  # noqa: E402
from tryon.web.api import MAX_PRODUCTS_PER_BATCH  # noqa: E402

GLASSES = PROJECT_ROOT / "assets" / "glasses" / "round"
FACE = PROJECT_ROOT / "tests" / "data" / "faces" / "lisa1.jpg"


def worker_pid(server_pid: int) -> int:
    """gunicorn's one worker: the master's child."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return int(children[0])


def memory_mb(pid: int, field: str) -> float:
    """A VmRSS / VmHWM line of /proc/PID/status, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def packshot(pixels: int, *, alpha: bool) -> bytes:
    """The round glasses front scaled to about `pixels` pixels: RGBA PNG, or a JPEG on white."""
    front = cv2.imread(str(GLASSES / "front.png"), cv2.IMREAD_UNCHANGED)
    scale = (pixels / (front.shape[0] * front.shape[1])) ** 0.5 * 0.999
    big = cv2.resize(front, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if alpha:
        return encode_image(big, "png")
    weight = big[..., 3:4].astype(np.float32) / 255
    on_white = (big[..., :3] * weight + 255 * (1 - weight)).astype(np.uint8)
    return encode_image(on_white, "jpeg", quality=90)


def big_photo(pixels: int) -> bytes:
    """A webcam shot scaled up to about `pixels` pixels (JPEG)."""
    face = cv2.imread(str(FACE))
    scale = (pixels / (face.shape[0] * face.shape[1])) ** 0.5 * 0.999
    return encode_image(cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR), "jpeg", 90)


def measure(pid: int, name: str, request: Callable[[], requests.Response]) -> None:
    """Run one request; print the peak memory it added and what the worker holds afterwards."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = memory_mb(pid, "VmRSS")
    started = time.perf_counter()
    response = request()
    seconds = time.perf_counter() - started
    peak, after = memory_mb(pid, "VmHWM"), memory_mb(pid, "VmRSS")
    print(
        f"{name:<12} {response.status_code:>4} {len(response.content) / 1e6:>8.1f} MB out {seconds:>6.1f} s"
        f"   peak +{peak - before:>6.0f} MB   resident {before:>5.0f} -> {after:>5.0f} MB"
    )
    if response.status_code >= 400:
        print(f"             {response.text[:200]}")


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    slug = f"bench-{uuid.uuid4().hex[:6]}"
    key = new_merchant(data, slug, "Bench")
    auth = {"Authorization": f"Bearer {key}"}
    jpeg, png = packshot(PRODUCT_IMAGE_MAX_PIXELS, alpha=False), packshot(PRODUCT_IMAGE_MAX_PIXELS, alpha=True)
    photo = big_photo(DEFAULT_MAX_PIXELS)
    limit = MAX_UPLOAD_BYTES / 1e6
    megapixels = PRODUCT_IMAGE_MAX_PIXELS / 1e6
    print(f"uploads {megapixels:.0f} MP: JPEG {len(jpeg) / 1e6:.1f} MB, PNG {len(png) / 1e6:.1f} MB")
    print(f"photo: {DEFAULT_MAX_PIXELS / 1e6:.0f} MP, {len(photo) / 1e6:.1f} MB (body limit {limit:.1f} MB)")
    env = {"TRYON_DATA_DIR": str(data), "TRYON_MODEL_PATH": str(resolve_model_path())}
    with local_server(env) as (base, server_pid):
        pid = worker_pid(server_pid)
        products = f"{base}/api/v1/merchant/products"
        spec = json.dumps({"width_mm": 138})

        def upload(sku: str, image: bytes, name: str) -> requests.Response:
            form = {"sku": sku, "name": "Big", "kind": "glasses", "spec": spec, "published": "true"}
            return requests.post(products, data=form, files={"front": (name, image)}, headers=auth, timeout=300)

        requests.put(f"{base}/api/v1/merchant/origins", json={"origins": []}, headers=auth, timeout=30)
        measure(pid, "upload-jpeg", lambda: upload("big-jpeg", jpeg, "front.jpg"))
        measure(pid, "upload-png", lambda: upload("big-png", png, "front.png"))
        edit = {"spec": {"width_mm": 140}}
        measure(pid, "spec-edit", lambda: requests.patch(f"{products}/big-png", json=edit, headers=auth, timeout=300))
        for index in range(MAX_PRODUCTS_PER_BATCH - 2):
            upload(f"frame-{index:02d}", (GLASSES / "front.png").read_bytes(), "front.png")
        skus = ["big-jpeg", "big-png"] + [f"frame-{index:02d}" for index in range(MAX_PRODUCTS_PER_BATCH - 2)]
        form = {"merchant": slug, "sku": skus}
        measure(
            pid,
            "batch",
            lambda: requests.post(f"{base}/api/v1/render/batch", data=form, files={"photo": photo}, timeout=300),
        )
        single = {"merchant": slug, "sku": ["big-png"]}
        measure(
            pid,
            "render",
            lambda: requests.post(f"{base}/api/v1/render", data=single, files={"photo": photo}, timeout=300),
        )


if __name__ == "__main__":
    main()
