"""The glasses that fit a live session's shopper, as a store asks for them (against the real server)."""

from __future__ import annotations

import json
import re
import struct

import cv2
import numpy as np
import requests
import websocket

from tests.conftest import load_face
from tests.support.server import local_server, new_merchant
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path

WIDTHS_MM = (132, 136, 140, 144, 148, 152, 156, 160)


def stream_face(base: str, token: str, photo: np.ndarray, frames: int = 12) -> dict:
    """Stream `photo` as a camera would (fresh noise each frame); the last frame's fit report."""
    url = f"{base.replace('http', 'ws', 1)}/api/v1/stream?merchant=fits&products=frame-136&session={token}"
    ws = websocket.create_connection(url, timeout=30)
    rng = np.random.default_rng(0)
    try:
        assert json.loads(ws.recv())["type"] == "ready"
        for frame_id in range(frames):
            noisy = np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255).astype(np.uint8)
            ws.send_binary(struct.pack(">I", frame_id) + cv2.imencode(".jpg", noisy)[1].tobytes())
            ws.recv()  # the rendered frame
            status = json.loads(ws.recv())
        return status["fit"]
    finally:
        ws.close()


def test_a_narrow_and_a_wide_face_get_different_first_picks(tmp_path):
    key = new_merchant(tmp_path, "fits", "Fits")
    env = {"TRYON_DATA_DIR": str(tmp_path), "TRYON_MODEL_PATH": str(resolve_model_path())}
    front = (PROJECT_ROOT / "assets" / "glasses" / "round" / "front.png").read_bytes()
    with local_server(env) as (base, _pid):
        auth = {"Authorization": f"Bearer {key}"}
        for width in WIDTHS_MM:
            form = {"sku": f"frame-{width}", "name": f"Frame {width}", "kind": "glasses", "published": "true"}
            form["spec"] = json.dumps({"width_mm": width})
            answer = requests.post(
                f"{base}/api/v1/merchant/products",
                data=form,
                files={"front": ("f.png", front)},
                headers=auth,
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
        answers = {}
        for name in ("124_neutral.jpg", "070_neutral.jpg"):  # a woman's narrower face, a man's wide one
            page = requests.get(f"{base}/embed/fits/frame-136", timeout=10).text
            token = re.search(r'data-session="([^"]+)"', page).group(1)
            before = requests.get(
                f"{base}/api/v1/sessions/fitting", params={"merchant": "fits", "session": token}, timeout=10
            )
            assert before.json() == {"measured": False, "fitting": [], "ideal_glasses_width_mm": None}
            report = stream_face(base, token, load_face(name))
            answer = requests.get(
                f"{base}/api/v1/sessions/fitting", params={"merchant": "fits", "session": token}, timeout=10
            )
            assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
            body = answer.json()
            assert set(body) == {"measured", "fitting", "ideal_glasses_width_mm"} and len(answer.content) < 300
            assert body["measured"] and body["fitting"] == report["fitting"] and body["fitting"]
            assert body["ideal_glasses_width_mm"] == report["ideal_glasses_width_mm"]
            answers[name] = body
        narrow, wide = answers["124_neutral.jpg"], answers["070_neutral.jpg"]
        assert narrow["fitting"][0] != wide["fitting"][0]
        assert narrow["ideal_glasses_width_mm"] < wide["ideal_glasses_width_mm"]
        forged = requests.get(
            f"{base}/api/v1/sessions/fitting", params={"merchant": "fits", "session": "x"}, timeout=10
        )
        assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_session"
