"""Synthetic motion with known transforms: the drawn glasses follow the face; smoothing removes jitter."""

import numpy as np
import pytest

from tests.conftest import load_face
from tests.support.motion import Motion, apply_transform, fit_to_canvas, motion_transforms, move_points
from tryon.anchor import AnchorSmoother
from tryon.pipeline import StreamEngine
from tryon.reuse import ReusingTracker
from tryon.tracking import FaceTracker

FPS = 30
SETTLE_FRAMES = 15


def lens_track(model_path, catalog, frames, smoothing, reuse=False):
    """Lens centres (frames, 2, 2) placed by a streaming engine (skipping the model where it may, with `reuse`)."""
    glasses = catalog.get("round")
    with FaceTracker(model_path, video=True) as tracker:
        source = ReusingTracker(tracker) if reuse else tracker
        engine = StreamEngine(source, smoother=AnchorSmoother() if smoothing else None)
        track = []
        for index, frame in enumerate(frames):
            tracked = engine.track(frame, timestamp_ms=round(index * 1000 / FPS))
            _, anchor = tracked.faces[0]
            track.append(glasses.placement(anchor).lens_centres_px)
    return np.array(track)


@pytest.mark.parametrize("reuse", [False, True])
@pytest.mark.parametrize("name", ["001_neutral.jpg", "103_neutral.jpg", "lisa4.jpg"])
def test_glasses_follow_known_motion(model_path, catalog, name, reuse):
    canvas = fit_to_canvas(load_face(name))
    moved = [apply_transform(canvas, parameters) for parameters in motion_transforms(60, Motion())]
    # The stream first sees the still photo, then 60 frames of shift + rotation + scale.
    frames = [canvas] * SETTLE_FRAMES + [frame for frame, _ in moved]
    track = lens_track(model_path, catalog, frames, smoothing=True, reuse=reuse)
    reference = track[SETTLE_FRAMES - 1]
    inter_ocular = np.linalg.norm(reference[1] - reference[0])
    errors = (
        np.array(
            [
                np.linalg.norm(track[SETTLE_FRAMES + i] - move_points(reference, matrix), axis=1).mean()
                for i, (_, matrix) in enumerate(moved)
            ]
        )
        / inter_ocular
    )
    assert errors.mean() < 0.02, errors.round(3)
    assert errors.max() < 0.04, errors.round(3)
    # The motion is real: the eyes travel several eye-distances' worth over the clip.
    travelled = np.linalg.norm(np.diff(track[SETTLE_FRAMES:].mean(axis=1), axis=0), axis=1).sum()
    assert travelled > 2 * inter_ocular


def test_smoothing_reduces_jitter_on_a_noisy_still(model_path, catalog):
    canvas = fit_to_canvas(load_face("001_neutral.jpg"))
    rng = np.random.default_rng(3)
    frames = [np.clip(canvas + rng.normal(0, 12, canvas.shape), 0, 255).astype(np.uint8) for _ in range(60)]

    def jitter(smoothing: bool) -> float:
        track = lens_track(model_path, catalog, frames, smoothing)[10:]
        return float(np.linalg.norm(np.diff(track, axis=0), axis=2).mean())

    raw, smoothed = jitter(False), jitter(True)
    assert smoothed < 0.6 * raw, (raw, smoothed)


def test_smoothing_restarts_when_the_face_is_lost(model_path, catalog):
    """After a frame without a face, the glasses jump to the new position instead of sliding there."""
    canvas = fit_to_canvas(load_face("001_neutral.jpg"))
    shifted, _ = apply_transform(canvas, np.array([60.0, 0.0, 0.0, 1.0]))
    frames = [canvas] * 10 + [np.zeros_like(canvas)] + [shifted]
    glasses = catalog.get("round")
    with FaceTracker(model_path, video=True) as tracker:
        engine = StreamEngine.smoothed(tracker)
        for index, frame in enumerate(frames):
            tracked = engine.track(frame, timestamp_ms=index * 33)
    with FaceTracker(model_path, video=True) as tracker:
        fresh = StreamEngine(tracker).track(shifted)
    after_loss = glasses.placement(tracked.faces[0][1]).lens_centres_px
    expected = glasses.placement(fresh.faces[0][1]).lens_centres_px
    assert np.linalg.norm(after_loss - expected, axis=1).max() < 2.0
