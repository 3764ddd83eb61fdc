"""The catalogue on a real PostgreSQL server (Debian's postgresql, on a Unix socket of its own):
the same migrations and operations as on SQLite."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tryon.config import PROJECT_ROOT
from tryon.store.blobs import LocalBlobStore
from tryon.store.database import Database
from tryon.store.merchants import (authenticate, create_merchant, create_product, delete_product, list_products,
                                   record_event, set_origins, update_product, usage)

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _postgres_user():
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


pytestmark = pytest.mark.skipif(
    not BIN or _postgres_user() is None or os.geteuid() != 0,
    reason="needs Debian's postgresql package and root (to run the server as the postgres user)")


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    user = _postgres_user()
    root = Path(tempfile.mkdtemp(prefix="tryon-pg-"))  # outside pytest's root-only temp tree
    data, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    for path in (root, socket_dir):
        os.chown(path, user.pw_uid, user.pw_gid)

    def as_postgres(*command):
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True)

    bin_dir = BIN[-1]
    as_postgres(f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                f"-k {socket_dir} -c listen_addresses='' -p 5499", "start")
    try:
        as_postgres(f"{bin_dir}/createdb", "-h", str(socket_dir), "-p", "5499", "tryon")
        yield f"postgresql+psycopg://postgres@/tryon?host={socket_dir}&port=5499"
    finally:
        as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_catalogue_on_postgresql(postgres_url, tmp_path):
    database = Database(postgres_url)
    database.migrate()
    database.migrate()  # idempotent
    blobs = LocalBlobStore(tmp_path / "blobs")
    merchant, key = create_merchant(database, "pg-shop", "PG Shop")
    assert authenticate(database, key).slug == "pg-shop"
    front = (PROJECT_ROOT / "assets/glasses/round/front.png").read_bytes()
    create_product(database, blobs, merchant.id, "frames", "Frames", "glasses", {"frame_width_mm": 138}, {"front": front})
    create_product(database, blobs, merchant.id, "red", "Red", "lipstick", {"colour": "#aa0000"}, {}, published=True)
    assert [row.sku for row in list_products(database, merchant.id)] == ["frames", "red"]
    updated = update_product(database, blobs, merchant.id, "frames", published=True, spec={"lens_opacity": 0.2})
    assert updated.published and updated.spec["lens_opacity"] == 0.2
    assert set_origins(database, merchant.id, ["https://shop.example"]) == ["https://shop.example"]
    for _ in range(3):
        record_event(database, "pg-shop", "red", "add_to_cart")
    assert usage(database, merchant.id)["red"]["add_to_cart"] == 3
    delete_product(database, merchant.id, "frames")
    assert [row.sku for row in list_products(database, merchant.id)] == ["red"]
    database.close()
