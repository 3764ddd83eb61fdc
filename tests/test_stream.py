"""The live stream protocol against the real server (gunicorn on loopback)."""

import json
import re
import struct

import cv2
import numpy as np
import pytest
import requests
import websocket

from tests.conftest import load_face
from tests.support.server import local_server, new_merchant
from tryon.model_file import resolve_model_path


@pytest.fixture(scope="module")
def server():
    env = {"TRYON_MODEL_PATH": str(resolve_model_path()), "TRYON_MAX_STREAMS": "2"}
    with local_server(env) as (base, _pid):
        yield base.replace("http", "ws", 1)


def connect(server, products="round"):
    ws = websocket.create_connection(f"{server}/api/v1/stream?products={products}", timeout=20)
    return ws, json.loads(ws.recv())


def frame_message(frame_id: int, image: np.ndarray) -> bytes:
    return struct.pack(">I", frame_id) + cv2.imencode(".jpg", image)[1].tobytes()


def receive_frame(ws):
    """(frame id, image, status) of the next rendered frame."""
    binary = ws.recv()
    status = json.loads(ws.recv())
    image = cv2.imdecode(np.frombuffer(binary[4:], np.uint8), cv2.IMREAD_COLOR)
    return struct.unpack(">I", binary[:4])[0], image, status


def test_frames_come_back_rendered_with_their_id_and_status(server):
    ws, ready = connect(server, "round")
    assert ready == {"type": "ready", "products": ["round"]}
    photo = load_face("001_neutral.jpg")
    for frame_id in range(7, 14):
        ws.send_binary(frame_message(frame_id, photo))
        received_id, image, status = receive_frame(ws)
        assert received_id == frame_id == status["id"]
    assert status["status"] == "ok" and status["faces"] == 1 and status["products"] == ["round"]
    # The size guide: measurements from the frames so far (made beside the stream: a frame does not
    # wait for one, so not every frame is measured), advice for the frame being tried.
    assert 1 <= status["fit"]["frames_used"] <= 6 and 50 < status["fit"]["pd_mm"] < 72
    assert status["fit"]["advice"]["sku"] == "round" and status["fit"]["advice"]["width_mm"] == 136
    eyes = np.array(status["eyes"]) * (photo.shape[1], photo.shape[0])
    x, y = eyes.mean(axis=0).astype(int)
    assert np.abs(image.astype(int) - photo)[y - 40 : y + 40, x - 100 : x + 100].mean() > 10
    ws.close()


def test_products_switch_and_bad_input_get_clear_answers(server):
    ws, _ = connect(server, "round")
    ws.send(json.dumps({"type": "products", "products": ["ruby-matte", "aviator"]}))
    assert json.loads(ws.recv()) == {"type": "products", "products": ["ruby-matte", "aviator"]}
    ws.send(json.dumps({"type": "products", "products": ["no-such-thing"]}))
    assert json.loads(ws.recv())["code"] == "unknown_product"
    ws.send("not json")
    assert json.loads(ws.recv())["code"] == "bad_message"
    ws.send_binary(struct.pack(">I", 5) + b"definitely not a jpeg")
    status = json.loads(ws.recv())
    assert status["status"] == "invalid_frame" and status["id"] == 5
    ws.send_binary(b"\x00")
    assert json.loads(ws.recv())["code"] == "bad_frame"
    # After all that, the session still renders, with the products chosen last.
    ws.send_binary(frame_message(6, load_face("009_neutral.jpg")))
    assert receive_frame(ws)[2]["products"] == ["ruby-matte", "aviator"]
    ws.close()


def test_no_face_and_unknown_product_or_merchant(server):
    ws, _ = connect(server)
    ws.send_binary(frame_message(1, np.full((480, 640, 3), 90, np.uint8)))
    _, image, status = receive_frame(ws)
    assert status["status"] == "no_face" and status["eyes"] == []
    ws.close()
    ws, first = connect(server, "nope")
    assert first["code"] == "unknown_product"
    ws.close()
    ws, first = connect(server, "round&merchant=nobody")
    assert first == {"type": "error", "code": "unknown_merchant", "message": "unknown merchant 'nobody'"}
    ws.close()


def test_sessions_beyond_capacity_are_refused_politely(server):
    first, _ = connect(server)
    second, _ = connect(server)
    third, answer = connect(server)
    assert answer["code"] == "busy"
    for ws in (first, second, third):
        ws.close()


def test_a_session_counts_once_however_often_it_reconnects(tmp_path):
    """The stream counts "session" once per embed page's token: reconnects (the widget's, after a lost
    connection) do not inflate it, a stream without a genuine token is served but not counted."""
    key = new_merchant(tmp_path, "reconnects", "Reconnects")
    env = {"TRYON_DATA_DIR": str(tmp_path), "TRYON_MODEL_PATH": str(resolve_model_path())}
    with local_server(env) as (base, _pid):
        auth = {"Authorization": f"Bearer {key}"}
        body = {"sku": "red-1", "name": "Red", "kind": "lipstick", "spec": {"colour": "#aa1122"}, "published": True}
        assert requests.post(f"{base}/api/v1/merchant/products", json=body, headers=auth, timeout=10).status_code == 201
        page = requests.get(f"{base}/embed/reconnects/red-1", timeout=10).text
        token = re.search(r'data-session="([^"]+)"', page).group(1)
        socket_base = base.replace("http", "ws", 1)
        for session in (token, token, token, "forged"):
            url = f"{socket_base}/api/v1/stream?merchant=reconnects&products=red-1&session={session}"
            ws = websocket.create_connection(url, timeout=20)
            assert json.loads(ws.recv())["type"] == "ready"
            ws.close()
        counts = requests.get(f"{base}/api/v1/merchant/analytics", headers=auth, timeout=10).json()["products"]
        assert counts["red-1"]["session"] == 1
