"""The production front (scripts/serve-production.sh: nginx with TLS in front of gunicorn) against
slow and hostile HTTP clients, on loopback ports: they wait on nginx, and the service goes on."""

import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import cv2
import pytest

from tests.conftest import load_face
from tests.support.server import install_production_front, local_server, production_front
from tests.support.wsclient import WsClient
from tryon.model_file import resolve_model_path

THREADS = 4  # gunicorn's threads: far fewer than the slow clients below
SLOW_CLIENTS = 24


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    missing = install_production_front()
    if missing:
        pytest.skip(f"the production front needs nginx and openssl: {missing}")
    env = {
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "INSTANCES": "1",  # one process holds every session: its caps are the server's
        "THREADS": str(THREADS),
        "TRYON_MAX_STREAMS": "2",
        "TRYON_MAX_STREAMS_PER_CLIENT": "1",
    }
    with production_front(tmp_path_factory.mktemp("front"), env) as (base, log):
        yield base


def tls_context():
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the script's self-signed certificate
    return context


def get(url, timeout=3.0):
    """(status, body, seconds) of a GET through the front."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=tls_context()) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, body, time.monotonic() - started


def slow_client(port, kind, stop):
    """A slowloris: a TLS connection that sends its request a byte at a time (its head, or, with
    a complete head, its body) until `stop` is set."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = tls_context().wrap_socket(raw, server_hostname="127.0.0.1")
    if kind == "head":
        pending = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 4000
    else:
        conn.sendall(b"POST /api/v1/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n")
        pending = b"-" * 1_000_000
    try:
        for byte in pending:
            if stop.wait(0.2):
                break
            conn.sendall(bytes([byte]))
    except OSError:
        pass
    finally:
        conn.close()


def test_slow_clients_wait_on_nginx_and_health_answers_quickly(front):
    port = int(front.rsplit(":", 1)[1])
    stop = threading.Event()
    slow = [
        threading.Thread(target=slow_client, args=(port, "head" if i % 2 else "body", stop), daemon=True)
        for i in range(SLOW_CLIENTS)
    ]
    for thread in slow:
        thread.start()
    try:
        time.sleep(1.5)  # every slow client connected and dribbling
        assert sum(thread.is_alive() for thread in slow) == SLOW_CLIENTS
        for _ in range(5):
            status, body, seconds = get(f"{front}/api/v1/health")
            assert status == 200 and json.loads(body) == {"status": "ok"} and seconds < 1.0, seconds
            time.sleep(0.2)
        assert get(f"{front}/api/v1/products?merchant=demo")[0] == 200
    finally:
        stop.set()
        for thread in slow:
            thread.join(5)


def raw_request(front, head):
    """(status, headers and body) of nginx's answer to a raw request head."""
    port = int(front.rsplit(":", 1)[1])
    with tls_context().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5)) as conn:
        answer = b""
        try:
            conn.sendall(head)  # nginx may answer and close before all of an oversized head is sent
        except (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
            pass
        try:
            while b"\r\n\r\n" not in answer and (chunk := conn.recv(65536)):
                answer += chunk
            headers = answer.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
            length = re.search(r"(?im)^content-length:\s*(\d+)", headers)
            while length and len(answer.split(b"\r\n\r\n", 1)[1]) < int(length.group(1)):
                if not (chunk := conn.recv(65536)):  # the body, as long as the head says (the connection may stay open)
                    break
                answer += chunk
        except (ssl.SSLEOFError, ConnectionResetError):  # nginx closing a refused connection without TLS goodbye
            pass
    status_line, rest = answer.split(b"\r\n", 1)
    return int(status_line.split()[1]), rest.decode(errors="replace")


def test_the_front_refuses_oversized_requests_itself_in_json(front):
    """What nginx refuses before the app sees it answers like the app: the JSON error, not HTML."""
    cases = [
        (
            b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + b"a" * 20_000 + b"\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            b"POST /api/v1/render HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 17000000\r\n\r\n",
            413,
            "request_entity_too_large",
        ),
        (b"GET /api/v1/health?" + b"q" * 40_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "uri_too_long"),
    ]
    for head, status, code in cases:
        answered, rest = raw_request(front, head)
        assert answered == status, rest[:300]
        assert "content-type: application/json" in rest.lower() and f'"code":"{code}"' in rest, rest[:300]


def test_the_live_stream_works_through_the_front_and_counts_the_real_address(front):
    url = front.replace("https", "wss", 1) + "/api/v1/stream?products=round"
    jpeg = cv2.imencode(".jpg", load_face("001_neutral.jpg"))[1].tobytes()
    client = WsClient(url)
    try:
        assert client.receive_json() == {"type": "ready", "products": ["round"]}
        client.frame(7, jpeg)
        reply = client.receive()
        assert isinstance(reply, bytes) and int.from_bytes(reply[:4], "big") == 7
        assert client.receive_json()["status"] == "ok"
        # One live session per address here: a forged X-Forwarded-For does not make a new address.
        forged = WsClient(url, headers=[("X-Forwarded-For", "198.51.100.23")])
        close, messages = forged.receive_until_closed()
        assert close == 1013 and json.loads(messages[0])["code"] == "too_many_sessions"
        forged.close()
    finally:
        client.close()
    # Oversized messages are closed with 1009 through the tunnel too.
    deadline = time.monotonic() + 5
    while True:  # once the server has seen the last session end
        client = WsClient(url)
        if client.receive_json()["type"] == "ready":
            break
        client.close()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    try:
        client.send(b"\0" * (3 * 1024 * 1024))
    except OSError:
        pass
    assert client.receive_until_closed()[0] == 1009
    client.close()


def test_gunicorn_serving_https_itself_streams_frames_bigger_than_a_tls_record(tmp_path):
    """scripts/serve.sh with TRYON_CERT and TRYON_KEY: frames (~100 KB, several TLS records) are read
    whole, not left in the TLS layer where the stream's select() cannot see them."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is missing (scripts/serve-production.sh install installs it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    jpeg = cv2.imencode(".jpg", load_face("001_neutral.jpg"))[1].tobytes()
    assert len(jpeg) > 2 * 16384
    env = {"TRYON_MODEL_PATH": str(resolve_model_path()), "TRYON_MAX_STREAMS": "2"}
    with local_server(env, tls=(cert, key)) as (base, _pid):
        client = WsClient(base.replace("https", "wss", 1) + "/api/v1/stream?products=round")
        try:
            assert client.receive_json()["type"] == "ready"
            for frame_id in range(3):
                client.frame(frame_id, jpeg)
                reply = client.receive(timeout=5)
                assert isinstance(reply, bytes) and int.from_bytes(reply[:4], "big") == frame_id
                assert client.receive_json(timeout=5)["status"] == "ok"
        finally:
            client.close()
