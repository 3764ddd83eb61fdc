"""Command line: `tryon render`, `tryon products`, `tryon fetch-model`, `tryon merchant`, `tryon serve`,
and the start-up steps `tryon init-db`, `tryon seed-demo`, `tryon collect-blobs`, `tryon forget-sessions`
(`tryon prepare` runs them all), which scripts/serve.sh runs before the server starts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
from tqdm import tqdm

from tryon.config import Settings
from tryon.errors import TryOnError
from tryon.imaging import FORMATS, decode_image, encode_image
from tryon.model_file import fetch_model, resolve_model_path
from tryon.products import BuiltinCatalog, Product
from tryon.sessions import new_session

if TYPE_CHECKING:  # imported where used: rendering needs no database
    from tryon.store.context import Store

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tryon", description="Virtual try-on of glasses and makeup.")
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="draw products on a photo or a video file")
    render.add_argument("input", type=Path)
    render.add_argument("-o", "--output", type=Path, required=True)
    render.add_argument(
        "-p",
        "--product",
        action="append",
        required=True,
        help="product or look id (repeat to combine); see `tryon products`",
    )
    render.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality of a still")

    commands.add_parser("products", help="list the built-in products")
    fetch = commands.add_parser("fetch-model", help="download and verify the face model")
    fetch.add_argument("--force", action="store_true")
    merchant = commands.add_parser(
        "merchant", help="create a merchant account; issue (rotate), list or revoke its API keys"
    )
    merchant.add_argument("action", choices=["create", "key", "keys", "revoke"])
    merchant.add_argument("slug", help="the merchant's id in URLs, e.g. my-shop")
    merchant.add_argument("--name", help="display name (create)")
    merchant.add_argument("--key", help="the key to revoke, or its first 8 characters (revoke)")
    for name, (_, help_text) in PREPARE_STEPS.items():
        commands.add_parser(name, help=help_text)
    commands.add_parser("prepare", help=f"{', '.join(PREPARE_STEPS)}, in order: run before the server starts")
    serve = commands.add_parser("serve", help="prepare, then run the development web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "fetch-model":
            print(fetch_model(settings, force=args.force))
        elif args.command == "products":
            for entry in BuiltinCatalog(settings.assets_dir).entries():
                print(f"{entry.sku:<24} {entry.kind:<12} {entry.name}")
        elif args.command == "merchant":
            manage_merchant(args.action, args.slug, args.name, args.key, settings)
        elif args.command in PREPARE_STEPS or args.command == "prepare":
            print_lines(prepare(settings, [args.command] if args.command in PREPARE_STEPS else PREPARE_STEPS))
        elif args.command == "serve":
            from tryon.web import create_app

            print_lines(prepare(settings))
            create_app(settings).run(host=args.host, port=args.port)
        else:
            catalog = BuiltinCatalog(settings.assets_dir)
            products = catalog.resolve(args.product)
            if args.input.suffix.lower() in IMAGE_SUFFIXES:
                render_still(args.input, args.output, products, settings, args.quality)
            else:
                render_video(args.input, args.output, products, settings)
    except (TryOnError, OSError) as exc:
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 1
    return 0


def manage_merchant(action: str, slug: str, name: str | None, key: str | None, settings: Settings) -> None:
    """Create a merchant or issue it a new key (printed once, stored only hashed); list its keys (by
    prefix) or revoke one: rotation is a new key, then the old one revoked."""
    from tryon.store.accounts import create_merchant, issue_key, list_keys, revoke_key
    from tryon.store.database import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database)
    db.migrate()
    if action == "keys":
        for info in list_keys(db, slug):
            print(f"{info.prefix}…  issued {info.created_at:%Y-%m-%d %H:%M}  {'revoked' if info.revoked else 'active'}")
        return
    if action == "revoke":
        if not key:
            raise TryOnError("name the key to revoke: --key KEY (or its first 8 characters)")
        revoke_key(db, slug, key)
        print(f"key {key[:8]}… of {slug} revoked")
        return
    issued = create_merchant(db, slug, name=name or slug)[1] if action == "create" else issue_key(db, slug)
    print(f"API key for {slug} (shown once, keep it safe):\n{issued}")


def init_db(store: Store, settings: Settings) -> str:
    """Create or upgrade the catalogue's schema to the latest migration."""
    store.db.migrate()
    return "database schema up to date"


def seed_demo_store(store: Store, settings: Settings) -> str:
    """Create the demo merchant with the built-in products, published and embeddable anywhere; an
    existing demo merchant is left as it is."""
    from tryon.store.maintenance import seed_demo
    from tryon.web.services import DEMO_MERCHANT

    created = seed_demo(store, BuiltinCatalog(settings.assets_dir), slug=DEMO_MERCHANT)
    return f"demo store {DEMO_MERCHANT!r} {'created' if created else 'already there'}"


def collect_blobs(store: Store, settings: Settings) -> str:
    """Remove product images that no product names (left by a crash, or replaced) and that are over an
    hour old, so that an upload another server process is committing right now is spared."""
    from tryon.store.maintenance import collect_garbage

    return f"{collect_garbage(store)} unreferenced blobs removed"


def forget_old_sessions(store: Store, settings: Settings) -> str:
    """Drop what expired try-on sessions left: which events they counted (the counts stay), which
    glasses fit them."""
    from tryon.store.analytics import forget_sessions
    from tryon.store.session_fits import forget_fits

    return f"{forget_sessions(store.db)} expired session marks, {forget_fits(store.db)} session fits dropped"


PREPARE_STEPS: dict[str, tuple[Callable[[Store, Settings], str], str]] = {  # name: (step, help)
    "init-db": (init_db, "create or upgrade the catalogue database's schema (safe to run again)"),
    "seed-demo": (seed_demo_store, "add the demo store with the built-in products (once; after init-db)"),
    "collect-blobs": (collect_blobs, "remove product images no product uses (after init-db)"),
    "forget-sessions": (forget_old_sessions, "drop what expired try-on sessions left (after init-db)"),
}


def prepare(settings: Settings, steps: Iterable[str] = PREPARE_STEPS) -> list[str]:
    """Run start-up steps in order on the database and blob store `settings` name; a line per step.

    Steps, not side effects of creating the app: they run once per start of the service, not once
    per worker process, and an app never changes the data just by being created.
    """
    from tryon.store.blobs import open_blob_store
    from tryon.store.context import Store
    from tryon.store.database import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database)
    try:
        return prepare_store(
            Store(db, open_blob_store(settings.storage_url, settings.data_dir / "blobs", settings.s3_endpoint)),
            settings,
            steps,
        )
    finally:
        db.close()


def prepare_store(store: Store, settings: Settings, steps: Iterable[str] = PREPARE_STEPS) -> list[str]:
    """`prepare` on a store already open (an app's own, in tests that create apps in-process)."""
    return [PREPARE_STEPS[step][0](store, settings) for step in steps]


def print_lines(lines: Iterable[str]) -> None:
    """What the start-up steps did, on stdout (the server's log when serve.sh runs them)."""
    for line in lines:
        print(f"tryon: {line}")


def render_still(source: Path, target: Path, products: list[Product], settings: Settings, quality: int) -> None:
    """Draw `products` on every face of a photo and save it in the format the target suffix names."""
    fmt = {suffix: name for name, suffix in FORMATS.items()}.get(target.suffix.lower().replace(".jpeg", ".jpg"))
    if fmt is None:
        raise TryOnError(f"output must end in one of {', '.join(FORMATS.values())}")
    frame = decode_image(source.read_bytes())
    with new_session("photo", model_path=resolve_model_path(settings)) as session:
        image = session.render(frame, products)
    if session.last is not None and not session.last.faces:
        print(
            f"tryon: no face drawn on ({session.last.detection.status.value}); writing the photo unchanged",
            file=sys.stderr,
        )
    target.write_bytes(encode_image(image, fmt, quality))


def render_video(source: Path, target: Path, products: list[Product], settings: Settings) -> None:
    """Draw `products` on the main face of every frame of a video, with a progress bar (a stream
    session: smoothed, and true to size once the face is measured, like the live try-on)."""
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise TryOnError(f"cannot open video {source}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        capture.release()
        raise TryOnError(f"cannot write video {target}")
    try:
        with new_session("stream", model_path=resolve_model_path(settings)) as session:
            for index in tqdm(range(total) if total else iter(int, 1), total=total, unit="frame", desc=source.name):
                ok, frame = capture.read()
                if not ok:
                    break
                writer.write(session.render(frame, products, timestamp_ms=int(index * 1000 / fps)))
    finally:
        capture.release()
        writer.release()


if __name__ == "__main__":
    sys.exit(main())
