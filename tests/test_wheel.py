"""The package as a wheel: built, installed into a fresh environment outside the checkout, prepared
with its own `tryon prepare` and served by gunicorn from there, it serves the widget, the demo
catalogue and renders, with static/ and assets/ found inside the installed package."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import uuid
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import FACES
from tests.support.server import local_server
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path

NOT_BUILT_FROM = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "tests", "docs", "bench"
)


def build_wheel(tmp: Path) -> Path:
    """Build from a copy of the checkout: the build writes build/ and *.egg-info beside its sources,
    and the working tree is not ours alone. No build isolation: the setup installs setuptools, so
    nothing is downloaded."""
    source = tmp / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_BUILT_FROM)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        str(source),
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "--wheel-dir",
        str(tmp / "dist"),
    )
    return next((tmp / "dist").glob("tryon-*.whl"))


def install(wheel: Path, venv: Path) -> Path:
    """A new virtual environment with only the wheel installed in it; the dependencies (mediapipe is
    large) are read from this environment's site-packages through a .pth file, which adds the folder
    without running its own .pth files, so the editable checkout install there stays invisible."""
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    site_packages = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "tryon-test-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel))
    return python


def run(*command: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def post_render(base: str, photo: bytes, product: str) -> bytes:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="product"\r\n\r\n{product}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base}/api/v1/render",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def test_installed_wheel_serves_widget_catalogue_and_renders(tmp_path, still_tracker):
    python = install(build_wheel(tmp_path), tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"  # the working directory: nothing of the checkout is importable
    elsewhere.mkdir()
    installed = Path(run(str(python), "-c", "import tryon; print(tryon.__file__)", cwd=elsewhere))
    assert installed.is_relative_to(tmp_path / "venv")

    env = {
        "TRYON_DATA_DIR": str(tmp_path / "data"),
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "TRYON_ASSETS_DIR": "",
    }  # the default: the package's own assets
    with local_server(env, python=python, cwd=elsewhere) as (base, _pid):
        widget = get(f"{base}/static/tryon.js").decode()
        assert "Try it on" in widget and "/embed/" in widget
        catalogue = json.loads(get(f"{base}/api/v1/products"))["products"]
        assert {"round", "aviator", "cat-eye", "rectangular", "ruby-matte", "evening"} <= {p["id"] for p in catalogue}
        photo = (FACES / "001_neutral.jpg").read_bytes()
        rendered = cv2.imdecode(np.frombuffer(post_render(base, photo, "round"), np.uint8), cv2.IMREAD_COLOR)

    before = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    assert rendered is not None and rendered.shape == before.shape
    x, y = still_tracker.detect(before).primary.iris_centres.mean(axis=0).astype(int)
    change = np.abs(rendered.astype(int) - before)
    assert change[y - 60 : y + 60, x - 120 : x + 120].mean() > 5 and change[:100, :100].mean() < 2
