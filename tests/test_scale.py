"""Beyond one machine: two app instances on their own loopback ports and data directories, sharing
nothing but one PostgreSQL server and one S3-compatible server (started as tests/test_postgres.py and
tests/test_blob_stores.py start them), behind the production front (Debian's nginx with
deploy/nginx.conf, by scripts/serve-production.sh with UPSTREAMS). Both start at once and migrate
once; a product uploaded through one is rendered by the other, its edits too; live sessions spread
over both; when one dies mid-stream its shoppers reconnect through nginx and get frames again
within 3 s. And SQLite's migrations take turns as PostgreSQL's do."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from tests.conftest import load_face
from tests.support.motion import fit_to_canvas
from tests.support.server import install_production_front, local_server, prepare_command, production_front
from tests.support.wsclient import Closed, WsClient
from tests.test_blob_stores import s3_endpoint  # noqa: F401  (a fixture: the S3-compatible server)
from tests.test_postgres import postgres_url  # noqa: F401  (a fixture: the PostgreSQL server)
from tests.test_postgres import pytestmark as needs_postgres
from tests.test_restart import call, multipart
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path
from tryon.store.accounts import create_merchant
from tryon.store.database import MIGRATIONS, Database
from tryon.store.models import Merchant

WIDGET_FIRST_RETRY_S = 1.875  # static/widget.js: 1.5 s x (0.75 to 1.25) after a first dropped connection
FRAME_INTERVAL_S = 0.1  # shoppers send 10 frames a second: enough to see a gap, light on two cores
SHOPPERS = 4
GLASSES = PROJECT_ROOT / "assets" / "glasses"


@dataclass
class Cluster:
    instances: list[tuple[str, int]]  # (base URL, server pid) of each
    front: str
    database: str
    prepared: list[tuple[int, str]]  # (exit status, output) of each instance's `tryon prepare`


@pytest.fixture(scope="module")
def cluster(postgres_url, s3_endpoint, tmp_path_factory):  # noqa: F811  (the imported fixtures)
    missing = install_production_front()
    if missing:
        pytest.skip(f"the production front needs nginx and openssl: {missing}")
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="scale")
    shared = {
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "TRYON_DATABASE_URL": postgres_url,
        "TRYON_STORAGE_URL": "s3://scale/catalogue",
        "TRYON_SECRET_KEY": secrets.token_hex(16),
        "TRYON_BEHIND_PROXY": "1",
        "TRYON_MAX_STREAMS": str(SHOPPERS),
        "TRYON_MAX_STREAMS_PER_CLIENT": str(SHOPPERS),  # every shopper here comes from 127.0.0.1
    }
    envs = [{**os.environ, **shared, "TRYON_DATA_DIR": str(tmp_path_factory.mktemp(f"instance-{n}"))} for n in range(2)]
    starts = [  # both instances' first start at once, as a scaled-out service starts
        subprocess.Popen(prepare_command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for env in envs
    ]
    prepared = [(start.wait(120), start.communicate()[0]) for start in starts]
    with ExitStack() as stack:
        instances = [stack.enter_context(local_server(env, threads=SHOPPERS + 4, prepare=False)) for env in envs]
        upstreams = [base.removeprefix("http://") for base, _pid in instances]
        front, _log = stack.enter_context(production_front(tmp_path_factory.mktemp("front"), upstreams=upstreams))
        yield Cluster(instances, front, postgres_url, prepared)


@needs_postgres
def test_instances_starting_at_once_migrate_once(cluster):
    assert [status for status, _ in cluster.prepared] == [0, 0], cluster.prepared
    outputs = [output for _, output in cluster.prepared]
    assert all("database schema up to date" in output for output in outputs)
    assert sum("demo store 'demo' created" in output for output in outputs) == 1, outputs
    database = Database(cluster.database)
    with database.session() as session:
        versions = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        merchants = session.scalar(select(func.count()).select_from(Merchant))
    database.close()
    assert versions == [ScriptDirectory(str(MIGRATIONS)).get_current_head()] and merchants == 1


def changed(image: np.ndarray, other: np.ndarray) -> float:
    """The share of pixels that differ visibly between two images."""
    return float((np.abs(image - other) > 8).any(axis=2).mean())


def render_png(base: str, key: str, photo: bytes) -> np.ndarray:
    body, content_type = multipart({"merchant": "scale-shop", "sku": "frames", "format": "png"}, {"photo": photo})
    status, data = call(base, "POST", "/api/v1/render", key, body, content_type)
    assert status == 200
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).astype(int)


@needs_postgres
def test_an_upload_through_one_instance_is_rendered_by_the_other(cluster):
    (first, _), (second, _) = cluster.instances
    database = Database(cluster.database)
    key = create_merchant(database, "scale-shop", name="Scale Shop")[1]
    database.close()
    glasses = {style: (GLASSES / style / "front.png").read_bytes() for style in ("round", "aviator")}
    fields = {"sku": "frames", "kind": "glasses", "published": "true"}
    body, content_type = multipart(fields, {"front": glasses["round"]})
    assert call(first, "POST", "/api/v1/merchant/products", key, body, content_type)[0] == 201

    photo = (PROJECT_ROOT / "tests/data/faces/001_neutral.jpg").read_bytes()
    before = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR).astype(int)
    round_frames = render_png(second, key, photo)  # the other instance: its renderer cache holds version 1 now
    assert changed(round_frames, before) > 0.01

    body, content_type = multipart({}, {"front": glasses["aviator"]})
    status, answer = call(first, "PUT", "/api/v1/merchant/products/frames/images", key, body, content_type)
    assert status == 200 and json.loads(answer)["version"] == 2
    aviators = render_png(second, key, photo)
    same = render_png(first, key, photo)
    assert changed(aviators, round_frames) > 0.005  # version 2 at once, not the cached version 1
    assert changed(aviators, same) == 0  # what the uploading instance draws


@dataclass
class Shopper:
    """One widget's live session through the front: a frame every FRAME_INTERVAL_S, one in flight; when
    its connection ends it reconnects after the widget's longest first back-off."""

    url: str
    jpeg: bytes
    stop: threading.Event
    replies: list[float] = field(default_factory=list)  # when each rendered frame came back
    drops: list[float] = field(default_factory=list)  # when a connection ended

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._session()
            except (Closed, OSError, ConnectionError, AssertionError):
                self.drops.append(time.monotonic())
                self.stop.wait(WIDGET_FIRST_RETRY_S)

    def _session(self) -> None:
        client = WsClient(self.url, timeout=5)
        try:
            assert client.receive_json(timeout=5)["type"] == "ready"
            frame_id = 0
            while not self.stop.is_set():
                frame_id += 1
                client.frame(frame_id, self.jpeg)
                while not isinstance(reply := client.receive(timeout=5), bytes):
                    assert json.loads(reply).get("type") != "error", reply
                self.replies.append(time.monotonic())
                self.stop.wait(FRAME_INTERVAL_S)
        finally:
            client.close()


def established(port: int) -> int:
    """Open TCP connections to a loopback port (nginx's to an instance: one per live session)."""
    lines = open("/proc/net/tcp").read().splitlines()[1:]
    fields = [line.split() for line in lines]
    return sum(1 for f in fields if int(f[1].split(":")[1], 16) == port and f[3] == "01")


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@needs_postgres
def test_sessions_spread_over_both_and_survive_one_dying(cluster):
    jpeg = cv2.imencode(".jpg", fit_to_canvas(load_face("001_neutral.jpg")))[1].tobytes()
    stop = threading.Event()
    url = cluster.front.replace("https", "wss", 1) + "/api/v1/stream?products=round"
    shoppers = [Shopper(url, jpeg, stop) for _ in range(SHOPPERS)]
    threads = [threading.Thread(target=shopper.run, daemon=True) for shopper in shoppers]
    for thread in threads:
        thread.start()
    try:
        assert wait_for(lambda: all(shopper.replies for shopper in shoppers), 30)
        ports = [int(base.rsplit(":", 1)[1]) for base, _pid in cluster.instances]
        sessions = [established(port) for port in ports]
        assert sum(sessions) == SHOPPERS and min(sessions) >= 1, sessions

        killed_at = time.monotonic()
        os.killpg(cluster.instances[0][1], signal.SIGKILL)  # the instance and its worker, as a crash would
        wait_for(lambda: all(s.replies[-1] > killed_at + 0.5 for s in shoppers), 10)
        dropped = [s for s in shoppers if any(t > killed_at for t in s.drops)]
        assert len(dropped) == sessions[0], (len(dropped), sessions)
        back_after = [min(t for t in s.replies if t > killed_at) - killed_at for s in shoppers]
        assert max(back_after) < 3.0, back_after
        assert established(ports[1]) == SHOPPERS  # all of them on the instance left
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


def test_sqlite_migrations_take_turns(tmp_path):
    """Several processes migrating one SQLite file at once (each its own lock file handle, as each
    process has): one migrates, the others wait and find the schema up to date."""
    url = f"sqlite:///{tmp_path / 'tryon.db'}"
    databases = [Database(url) for _ in range(3)]
    start, errors = threading.Barrier(len(databases)), []

    def migrate(database: Database) -> None:
        start.wait()
        try:
            database.migrate()
        except Exception as error:  # noqa: BLE001  (collected for the assertion)
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(database,)) for database in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for database in databases:
        database.close()
    assert errors == []
