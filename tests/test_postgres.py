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
from tryon.store.accounts import authenticate, create_merchant
from tryon.store.analytics import record_event, usage
from tryon.store.blobs import LocalBlobStore
from tryon.store.context import Store
from tryon.store.database import Database
from tryon.store.origins import set_origins
from tryon.store.products import create_product, delete_product, list_products, update_product

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _postgres_user():
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


pytestmark = pytest.mark.skipif(
    not BIN or _postgres_user() is None or os.geteuid() != 0,
    reason="needs Debian's postgresql package and root (to run the server as the postgres user)",
)


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
    as_postgres(
        f"{bin_dir}/pg_ctl",
        "-D",
        str(data),
        "-w",
        "-l",
        str(root / "log"),
        "-o",
        f"-k {socket_dir} -c listen_addresses='' -p 5499",
        "start",
    )
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
    merchant, key = create_merchant(database, "pg-shop", name="PG Shop")
    assert authenticate(database, key).slug == "pg-shop"
    shop = Store(database, LocalBlobStore(tmp_path / "blobs")).for_merchant(merchant.id)
    front = (PROJECT_ROOT / "assets/glasses/round/front.png").read_bytes()
    create_product(shop, "frames", name="Frames", kind="glasses", spec={"width_mm": 138}, images={"front": front})
    create_product(shop, "red", name="Red", kind="lipstick", spec={"colour": "#aa0000"}, images={}, published=True)
    assert [product.sku for product in list_products(shop)] == ["frames", "red"]
    updated = update_product(shop, "frames", published=True, spec={"lens_opacity": 0.2})
    assert updated.published and updated.spec["lens_opacity"] == 0.2
    assert set_origins(shop, ["https://shop.example"]) == ["https://shop.example"]
    for session_id in ("a", "b", "c", "c"):  # three sessions, the last one sending the event twice
        record_event(database, "add_to_cart", merchant_slug="pg-shop", sku="red", session_id=session_id)
    assert usage(shop)["red"]["add_to_cart"] == 3
    delete_product(shop, "frames")
    assert [product.sku for product in list_products(shop)] == ["red"]
    database.close()
