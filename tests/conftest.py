"""Shared fixtures: the face model, real face photos and their hand-placed ground truth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.config import Settings
from tryon.model_file import resolve_model_path
from tryon.products import BuiltinCatalog
from tryon.tracking import FaceTracker

DATA = Path(__file__).parent / "data"
FACES = DATA / "faces"
ARTIFACTS = Path(__file__).parent / "artifacts"


def load_face(name: str) -> np.ndarray:
    image = cv2.imread(str(FACES / name))
    assert image is not None, name
    return image


def ground_truth() -> dict:
    return json.loads((FACES / "landmarks.json").read_text())["faces"]


NEUTRAL_FACES = sorted(ground_truth())


@pytest.fixture(scope="session", autouse=True)
def isolated_data_dir(tmp_path_factory):
    """Tests keep their databases and blobs in a temporary data directory; the verified face model
    is taken from wherever the setup put it."""
    model = resolve_model_path()
    saved = {name: os.environ.get(name) for name in ("TRYON_DATA_DIR", "TRYON_MODEL_PATH")}
    os.environ["TRYON_MODEL_PATH"] = str(model)
    os.environ["TRYON_DATA_DIR"] = str(tmp_path_factory.mktemp("tryon-data"))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def model_path() -> Path:
    return resolve_model_path()


@pytest.fixture(scope="session")
def still_tracker(model_path: Path):
    with FaceTracker(model_path, max_faces=4) as tracker:
        yield tracker


@pytest.fixture(scope="session")
def catalog() -> BuiltinCatalog:
    return BuiltinCatalog(Settings.from_env().assets_dir)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
