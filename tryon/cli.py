"""Command line: `tryon render`, `tryon products`, `tryon fetch-model`, `tryon serve`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from tryon.config import Settings
from tryon.errors import TryOnError
from tryon.imaging import FORMATS, decode_image, encode_image
from tryon.model_file import fetch_model, resolve_model_path
from tryon.pipeline import TryOnEngine
from tryon.products import BuiltinCatalog, Product
from tryon.tracking import FaceTracker

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tryon", description="Virtual try-on of glasses and makeup.")
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="draw products on a photo or a video file")
    render.add_argument("input", type=Path)
    render.add_argument("-o", "--output", type=Path, required=True)
    render.add_argument("-p", "--product", action="append", required=True,
                        help="product or look id (repeat to combine); see `tryon products`")
    render.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality of a still")

    commands.add_parser("products", help="list the built-in products")
    fetch = commands.add_parser("fetch-model", help="download and verify the face model")
    fetch.add_argument("--force", action="store_true")
    merchant = commands.add_parser("merchant", help="create a merchant account or issue it a new API key")
    merchant.add_argument("action", choices=["create", "key"])
    merchant.add_argument("slug", help="the merchant's id in URLs, e.g. my-shop")
    merchant.add_argument("--name", help="display name (create)")
    serve = commands.add_parser("serve", help="run the development web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "fetch-model":
            print(fetch_model(settings, force=args.force))
        elif args.command == "products":
            for entry in BuiltinCatalog(settings.assets_dir).entries():
                print(f"{entry.id:<24} {entry.kind:<12} {entry.name}")
        elif args.command == "merchant":
            manage_merchant(args.action, args.slug, args.name, settings)
        elif args.command == "serve":
            from tryon.web import create_app

            create_app().run(host=args.host, port=args.port)
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


def manage_merchant(action: str, slug: str, name: str | None, settings: Settings) -> None:
    """Create a merchant, or issue it a new key; the key is printed once and stored only hashed."""
    from tryon.store.database import Database
    from tryon.store.merchants import create_merchant, issue_key

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database)
    db.migrate()
    key = create_merchant(db, slug, name or slug)[1] if action == "create" else issue_key(db, slug)
    print(f"API key for {slug} (shown once, keep it safe):\n{key}")


def render_still(source: Path, target: Path, products: list[Product], settings: Settings, quality: int) -> None:
    """Draw `products` on every face of a photo and save it in the format the target suffix names."""
    fmt = {suffix: name for name, suffix in FORMATS.items()}.get(target.suffix.lower().replace(".jpeg", ".jpg"))
    if fmt is None:
        raise TryOnError(f"output must end in one of {', '.join(FORMATS.values())}")
    frame = decode_image(source.read_bytes())
    with FaceTracker(resolve_model_path(settings), max_faces=4) as tracker:
        image, tracked = TryOnEngine(tracker).render(frame, products)
    if not tracked.faces:
        print(f"tryon: no face drawn on ({tracked.detection.status.value}); writing the photo unchanged",
              file=sys.stderr)
    target.write_bytes(encode_image(image, fmt, quality))


def render_video(source: Path, target: Path, products: list[Product], settings: Settings) -> None:
    """Draw `products` on the main face of every frame of a video, with a progress bar."""
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise TryOnError(f"cannot open video {source}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        capture.release()
        raise TryOnError(f"cannot write video {target}")
    try:
        with FaceTracker(resolve_model_path(settings), video=True) as tracker:
            engine = TryOnEngine(tracker)
            for index in tqdm(range(total) if total else iter(int, 1), total=total, unit="frame", desc=source.name):
                ok, frame = capture.read()
                if not ok:
                    break
                image, _ = engine.render(frame, products, timestamp_ms=int(index * 1000 / fps))
                writer.write(image)
    finally:
        capture.release()
        writer.release()


if __name__ == "__main__":
    sys.exit(main())
