"""The live stream under hostile traffic, against the real server (gunicorn on loopback): whatever a
connection does, it costs only its own session, and its slot and thread come back."""

import json
import socket
import time

import cv2
import pytest
from wsproto.events import Message

from tests.conftest import load_face
from tests.support.server import local_server
from tests.support.wsclient import WsClient
from tryon.config import PROJECT_ROOT, Settings, available_cores, default_max_streams
from tryon.model_file import resolve_model_path
from tryon.products import BuiltinCatalog
from tryon.web import create_app
from tryon.web.clients import client_address
from tryon.web.stream import MAX_MESSAGE_BYTES, MAX_PRODUCTS

SLOTS, PER_CLIENT, IDLE_S, SEND_TIMEOUT_S = 3, 2, 4, 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("abuse") / "server.log"
    env = {
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "TRYON_MAX_STREAMS": str(SLOTS),
        "TRYON_MAX_STREAMS_PER_CLIENT": str(PER_CLIENT),
        "TRYON_STREAM_IDLE_S": str(IDLE_S),
        "TRYON_STREAM_SEND_TIMEOUT_S": str(SEND_TIMEOUT_S),
    }
    with local_server(env, log_path=log) as (base, _pid):
        yield base.replace("http", "ws", 1) + "/api/v1/stream", log


@pytest.fixture(scope="module")
def jpeg():
    return cv2.imencode(".jpg", load_face("001_neutral.jpg"))[1].tobytes()


def open_session(server, products="round", **options):
    url, _log = server
    client = WsClient(f"{url}?products={products}", **options)
    assert client.receive_json() == {"type": "ready", "products": products.split(",")}
    return client


def open_session_soon(server, timeout=5.0, **options):
    """open_session once the server has noticed the last sessions end (refusals until then)."""
    deadline = time.monotonic() + timeout
    while True:
        client = WsClient(f"{server[0]}?products=round", **options)
        first = client.receive_json()
        if first["type"] == "ready":
            return client
        client.close()
        assert first["code"] in ("busy", "too_many_sessions") and time.monotonic() < deadline, first
        time.sleep(0.1)


def render(client, frame_id, jpeg, timeout=10.0):
    """Send a frame; (its status, seconds to get it back)."""
    started = time.monotonic()
    client.frame(frame_id, jpeg)
    reply = client.receive(timeout)
    assert isinstance(reply, bytes) and int.from_bytes(reply[:4], "big") == frame_id
    status = client.receive_json(timeout)
    assert status["type"] == "frame" and status["id"] == frame_id
    return status, time.monotonic() - started


def assert_every_slot_free(server, jpeg):
    """All SLOTS sessions can start (two client addresses: PER_CLIENT each) and render."""
    sources = ["127.0.0.1"] * PER_CLIENT + ["127.0.0.2"] * (SLOTS - PER_CLIENT)
    clients = [open_session(server, source=source) for source in sources]
    try:
        for index, client in enumerate(clients):
            assert render(client, index, jpeg)[0]["status"] == "ok"
    finally:
        for client in clients:
            client.close()
    time.sleep(0.3)  # the server notices the closes


def test_oversized_and_compression_bomb_messages_are_closed_with_1009_and_free_their_slot(server, jpeg):
    for attempt in range(SLOTS + 2):  # more than there are slots: each one's slot must come back
        client = open_session_soon(server)
        try:
            client.send(b"\0" * (3 * 1024 * 1024))
        except OSError:
            pass  # the server may stop reading before the whole message is out
        assert client.receive_until_closed()[0] == 1009, attempt
        client.close()
    bomb = b"\0" * (32 * MAX_MESSAGE_BYTES)  # 64 MiB, about 65 KB once deflated
    for attempt in range(SLOTS + 2):
        client = open_session_soon(server, deflate=True)
        client.send(bomb)
        assert client.receive_until_closed()[0] == 1009, attempt
        client.close()
    text_bomb = "[" * (3 * 1024 * 1024)  # a text message is held to the same size
    client = open_session_soon(server, deflate=True)
    client.send(text_bomb)
    assert client.receive_until_closed()[0] == 1009
    client.close()
    assert_every_slot_free(server, jpeg)


def test_idle_sessions_are_closed_after_the_idle_time(server, jpeg):
    silent = open_session(server)  # never sends a frame
    watching = open_session(server)  # sends one, then nothing
    render(watching, 1, jpeg)
    started = time.monotonic()
    for client in (silent, watching):
        code, messages = client.receive_until_closed(timeout=IDLE_S + 5)
        assert code == 4408
        error = json.loads(messages[-1])
        assert error["type"] == "error" and error["code"] == "idle" and error["idle_s"] == IDLE_S
        client.close()
    assert IDLE_S - 1.5 < time.monotonic() - started < IDLE_S + 3
    assert_every_slot_free(server, jpeg)


def test_a_client_that_never_reads_is_dropped_and_its_slot_freed(server, jpeg):
    hog = open_session(server, receive_buffer=4096)
    hog.sock.settimeout(SEND_TIMEOUT_S * 2 + 10)
    started = time.monotonic()
    with pytest.raises(OSError):  # the server stops reading, then drops the connection
        for frame_id in range(5000):
            hog.frame(frame_id, jpeg)
    assert time.monotonic() - started < SEND_TIMEOUT_S * 2 + 8
    hog.close()
    time.sleep(0.5)
    assert_every_slot_free(server, jpeg)


def test_capacity_and_the_per_address_cap_answer_with_a_reason_and_a_retry_hint(server, jpeg):
    mine = [open_session(server) for _ in range(PER_CLIENT)]
    others = [open_session(server, source="127.0.0.2") for _ in range(SLOTS - PER_CLIENT)]
    try:
        for source, code in (("127.0.0.1", "too_many_sessions"), ("127.0.0.3", "busy")):
            refused = WsClient(f"{server[0]}?products=round", source=source)
            close, messages = refused.receive_until_closed()
            answer = json.loads(messages[0])
            assert close == 1013 and answer["type"] == "error" and answer["code"] == code, answer
            assert answer["retry_after_s"] > 0 and answer["message"]
            refused.close()
    finally:
        for client in mine + others:
            client.close()
    time.sleep(0.3)
    assert_every_slot_free(server, jpeg)


def test_a_huge_product_list_is_capped_and_frames_stay_fast(server, jpeg):
    skus = BuiltinCatalog(Settings.from_env().assets_dir).skus()
    glasses = ["round", "aviator", "cat-eye", "rectangular"]
    client = open_session(server)
    try:
        client.send_json({"type": "products", "products": (glasses * 750)})  # 3000 ids
        answer = client.receive_json()
        assert answer == {"type": "products", "products": glasses, "ignored": 3000 - len(glasses)}
        status, seconds = render(client, 1, jpeg)
        assert status["products"] == glasses and seconds < 2
        many = [skus[i % len(skus)] for i in range(3000)]
        client.send_json({"type": "products", "products": many})
        answer = client.receive_json()
        if answer["type"] == "products":  # the first MAX_PRODUCTS different ids, if they go together
            assert answer["products"] == list(dict.fromkeys(many))[:MAX_PRODUCTS]
        else:
            assert answer["type"] == "error" and answer["code"] in ("invalid_product", "unknown_product")
        status, seconds = render(client, 2, jpeg)
        assert len(status["products"]) <= MAX_PRODUCTS and seconds < 2
    finally:
        client.close()


def test_bad_control_messages_get_a_protocol_error_and_the_session_goes_on(server, jpeg):
    client = open_session(server)
    try:
        for text in (
            "[" * 100_000,  # too long for a control message
            "[" * 20_000,  # short enough, but json.loads recurses past Python's limit
            '{"type": "products", "products": ' + "[" * 5000 + "]" * 5000 + "}",
            '{"type": "products", "products": {"round": 1}}',
            '{"type": "products", "products": [["round"]]}',
            '{"type": "products", "products": "round"}',
            "[1, 2]",
            "not json at all",
        ):
            client.send(text)
            answer = client.receive_json()
            assert answer["type"] == "error" and answer["code"] == "bad_message", (text[:40], answer)
        client.send_json({"type": "products", "products": ["aviator"]})
        assert client.receive_json() == {"type": "products", "products": ["aviator"]}
        assert render(client, 3, jpeg)[0]["products"] == ["aviator"]
    finally:
        client.close()


def test_shoppers_leaving_abruptly_are_normal_ends_with_no_tracebacks_or_500s(server, jpeg):
    url, log = server
    for _ in range(3):
        WsClient(f"{url}?products=round").abort()  # gone before the session is even set up
        client = open_session_soon(server)
        client.close()  # FIN, no close frame
        client = open_session_soon(server)
        client.frame(1, jpeg)
        client.abort()  # reset while its frame is being rendered
        client = open_session_soon(server)
        client.frame(2, jpeg)
        client.sock.sendall(client.ws.send(Message(data=b"\0" * 50_000))[:30_000])
        client.abort()  # half a message, then a reset
        client = open_session_soon(server)
        render(client, 3, jpeg)
        client.frame(4, jpeg)
        client.close()  # left with a reply on its way
    # Not a WebSocket handshake after all: an HTTP error, not a 500.
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        head = raw.recv(4096).split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 4"), head
    time.sleep(1.0)
    assert_every_slot_free(server, jpeg)
    assert_log_clean(log)


def test_the_server_log_holds_no_traceback_after_all_of_it(server):
    assert_log_clean(server[1])


def assert_log_clean(log):
    text = log.read_text(errors="replace")
    # '" 500 ': an access-log status (a bare ' 500 ' also matches MediaPipe's thread ids)
    for bad in ("Traceback", "Error handling request", "Exception in thread", '" 500 ', "internal_error"):
        assert bad not in text, (bad, text[text.find(bad) - 1500 : text.find(bad) + 1500])


def test_the_client_address_is_the_proxys_only_when_the_proxy_is_trusted(tmp_path):
    model = resolve_model_path()
    for behind_proxy, expected in ((False, "10.0.0.9"), (True, "203.0.113.7")):
        settings = Settings(
            data_dir=tmp_path, model_path=model, assets_dir=PROJECT_ROOT / "assets", behind_proxy=behind_proxy
        )
        app = create_app(settings)
        headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}  # a client's own entry, then the proxy's
        with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.9"}):
            assert client_address(settings) == expected
        with app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.9"}):
            assert client_address(settings) == "10.0.0.9"


def test_default_capacity_is_four_streams_per_core():
    assert default_max_streams() == 4 * available_cores()
    assert (
        Settings(data_dir=PROJECT_ROOT, model_path=None, assets_dir=PROJECT_ROOT).max_streams == 4 * available_cores()
    )
