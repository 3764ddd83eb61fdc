"""The reuse decision: still noisy faces reuse the last landmarks, moved faces and moving mouths run the model."""

import numpy as np
import pytest

from tests.conftest import load_face
from tests.support.clips import ClipMaker, Pose
from tests.support.motion import affine_for, fit_to_canvas, move_points
from tryon.geometry import transform_points
from tryon.pipeline import StreamEngine, TryOnEngine
from tryon.reuse import Decision, ReusePolicy, ReusingTracker, moved_face, policy_for
from tryon.tracking import FaceTracker

UPPER_LIP, LOWER_LIP = 13, 14  # inner lip midpoints


@pytest.fixture(scope="module")
def maker(still_tracker):
    canvas = fit_to_canvas(load_face("001_neutral.jpg"))
    return ClipMaker(canvas, still_tracker.detect(canvas).primary.landmarks)


def follow(model_path, frames, **policy):
    """(decision, detection) of each frame, through a ReusingTracker."""
    with ReusingTracker(FaceTracker(model_path, video=True), ReusePolicy(**policy)) as reusing:
        detections = []
        decisions = []
        for frame in frames:
            detections.append(reusing.detect(frame))
            decisions.append(reusing.last_decision)
        return decisions, detections


def test_a_still_face_in_fresh_noise_reuses_the_last_landmarks(model_path, maker):
    frames = [maker.frame(Pose(), seed=seed) for seed in range(20)]
    decisions, detections = follow(model_path, frames)
    # The first face is the detector's, the second the first one followed: both run the model.
    assert decisions[:2] == [Decision.INFER, Decision.INFER]
    assert decisions[2:].count(Decision.REUSE) >= 17, decisions
    reused = [d for d, decision in zip(detections, decisions) if decision is Decision.REUSE]
    assert all(np.array_equal(d.primary.landmarks, reused[0].primary.landmarks) for d in reused)


def test_a_face_that_moved_runs_the_model(model_path, maker):
    still = [maker.frame(Pose(), seed=seed) for seed in range(4)]
    moved = maker.frame(Pose(motion=(25.0, 10.0, 0.0, 1.0)), seed=9)
    decisions, _ = follow(model_path, still + [moved])
    assert decisions[-2] is Decision.REUSE and decisions[-1] is Decision.INFER


def test_a_small_rigid_motion_is_propagated_to_where_the_face_went(model_path, maker):
    motion = (1.5, -1.0, 0.3, 1.004)
    frames = [maker.frame(Pose(), seed=seed) for seed in range(4)] + [maker.frame(Pose(motion=motion), seed=7)]
    decisions, detections = follow(model_path, frames)
    assert decisions[-1] is Decision.PROPAGATE, decisions
    expected = move_points(detections[-2].primary.iris_centres, affine_for(np.array(motion), (640, 480)))
    propagated = detections[-1].primary.iris_centres
    assert np.linalg.norm(propagated - expected, axis=1).max() < 0.3  # pixels; the eye distance is ~70


def test_a_face_moving_faster_than_propagation_skips_the_flow_until_it_slows(model_path, maker):
    still = [maker.frame(Pose(), seed=seed) for seed in range(4)]
    moving = [
        maker.frame(Pose(motion=motion), seed=10 + index)
        for index, motion in enumerate([(25.0, 10.0, 0.0, 1.0), (26.5, 9.0, 0.3, 1.004), (28.0, 8.0, 0.6, 1.008)])
    ]
    decisions, _ = follow(model_path, still + moving)
    # The jump runs the model; the next frame, a small step after a fast one, goes straight to the
    # model (no flow tried); once the step between model calls was small, small steps propagate.
    assert decisions[-3:] == [Decision.INFER, Decision.INFER, Decision.PROPAGATE], decisions


def test_a_mouth_opening_on_a_still_face_is_followed_on_that_frame(model_path, maker):
    frames = [maker.frame(Pose(), seed=seed) for seed in range(8)]
    frames += [maker.frame(Pose(jaw=jaw), seed=20 + i) for i, jaw in enumerate((0.3, 0.6, 0.9))]
    decisions, detections = follow(model_path, frames)
    assert decisions[7] is Decision.REUSE
    assert decisions[8:] == [Decision.INFER] * 3, decisions
    gaps = [d.primary.landmarks[LOWER_LIP, 1] - d.primary.landmarks[UPPER_LIP, 1] for d in detections]
    eye_distance = detections[7].primary.inter_ocular_px
    assert gaps[8] - gaps[7] > 0.05 * eye_distance and gaps[10] > gaps[9] > gaps[8]


def test_the_model_keeps_running_a_moment_after_the_mouth_moved(model_path, maker):
    """Speech comes in bursts: once the lips moved, the next frames run the model even where the mouth
    looks still under the noise, then reuse comes back."""
    frames = [maker.frame(Pose(), seed=seed) for seed in range(8)]
    frames += [maker.frame(Pose(jaw=0.6), seed=20 + i) for i in range(30)]
    talking = 10
    decisions, _ = follow(model_path, frames, talking_frames=talking)
    assert decisions[8 : 9 + talking] == [Decision.INFER] * (talking + 1), decisions
    assert decisions[-10:].count(Decision.REUSE) >= 8, decisions


def test_talking_costs_no_model_calls_when_only_glasses_are_drawn(model_path, maker):
    """Glasses rest on the upper face: the same mouth opening leaves a glasses-only stream on the last
    landmarks, while a blink (the eyes are watched either way) still runs the model."""
    frames = [maker.frame(Pose(), seed=seed) for seed in range(8)]
    frames += [maker.frame(Pose(jaw=jaw), seed=20 + i) for i, jaw in enumerate((0.3, 0.6, 0.9))]
    frames.append(maker.frame(Pose(jaw=0.9, blink=0.5), seed=30))
    decisions, _ = follow(model_path, frames, watch_mouth=False)
    assert decisions[7:11] == [Decision.REUSE] * 4 and decisions[11] is Decision.INFER, decisions


def test_the_mouth_is_watched_unless_everything_drawn_is_glasses():
    assert not policy_for(["glasses"]).watch_mouth and not policy_for([]).watch_mouth
    assert policy_for(["glasses", "makeup"]).watch_mouth and policy_for(["makeup"]).watch_mouth


def test_a_blink_on_a_still_face_runs_the_model(model_path, maker):
    frames = [maker.frame(Pose(), seed=seed) for seed in range(6)] + [maker.frame(Pose(blink=0.5), seed=30)]
    decisions, _ = follow(model_path, frames)
    assert decisions[-2] is Decision.REUSE and decisions[-1] is Decision.INFER


def test_the_model_runs_again_after_the_bounded_interval(model_path, maker):
    frames = [maker.frame(Pose(), seed=seed) for seed in range(14)]
    decisions, _ = follow(model_path, frames, max_reuse_frames=5)
    assert decisions[2:].count(Decision.INFER) == 2, decisions  # at frames 7 and 13


def test_no_face_always_runs_the_model(model_path):
    frames = [np.full((480, 640, 3), 90, np.uint8)] * 4
    decisions, detections = follow(model_path, frames)
    assert decisions == [Decision.INFER] * 4 and all(d.primary is None for d in detections)


def test_moved_face_moves_landmarks_and_pose_together(still_tracker):
    face = still_tracker.detect(fit_to_canvas(load_face("001_neutral.jpg"))).primary
    matrix = affine_for(np.array([4.0, -2.5, 1.5, 1.02]), face.image_size)  # a motion as large as is propagated
    moved = moved_face(face, matrix)
    assert np.allclose(moved.landmarks[:, :2], move_points(face.landmarks[:, :2], matrix))
    # The posed canonical face lands where the moved image puts it (the eye distance is ~75 px).
    before = face.camera.project(transform_points(face.matrix, face.canonical))
    after = moved.camera.project(transform_points(moved.matrix, moved.canonical))
    assert np.linalg.norm(after - move_points(before, matrix), axis=1).max() < 0.6  # under 1% of the eye distance
    assert moved.blendshapes == face.blendshapes


def test_a_still_face_blends_the_same_glasses_layers_again(model_path, maker, catalog):
    """Frames of an unchanged face keep the same anchor, so the stream blends the glasses' layers of
    the last frame again (built only where the model ran); each frame looks as drawing it anew would."""
    glasses = catalog.get("round")
    built = []

    class Counting(type(glasses)):  # the real renderer, counting how often it builds its layers
        def layers(self, *args):
            built.append(1)
            return super().layers(*args)

    counting = Counting(glasses.asset)
    engine = StreamEngine.smoothed(ReusingTracker(FaceTracker(model_path, video=True), policy_for(["glasses"])))
    try:
        for seed in range(10):
            frame = maker.frame(Pose(), seed=seed)
            image, tracked = engine.render(frame, [counting], timestamp_ms=seed * 33)
            fresh = TryOnEngine.draw(frame, tracked, [glasses])
            assert np.abs(image.astype(int) - fresh)[(fresh != frame).any(axis=2)].mean() < 1.0
        assert engine.tracker.decisions[Decision.REUSE] >= 7
        assert len(built) == engine.tracker.decisions[Decision.INFER]
    finally:
        engine.tracker.close()


def test_a_face_moved_without_the_model_carries_its_glasses_along(model_path, maker, catalog):
    """On frames where the face was moved (propagated) the glasses' layers are carried with it, not
    built again, and look as drawing them anew would (within a grey level over the glasses)."""
    glasses = catalog.get("round")
    engine = StreamEngine.smoothed(ReusingTracker(FaceTracker(model_path, video=True), policy_for(["glasses"])))
    differences = []
    try:
        for index in range(12):
            shift = 0.0 if index < 4 else 0.4 * (index - 3)
            frame = maker.frame(Pose(motion=(shift, -0.5 * shift, 0.05 * shift, 1.0)), seed=index)
            image, tracked = engine.render(frame, [glasses], timestamp_ms=index * 33)
            if engine.tracker.last_decision is Decision.PROPAGATE:
                fresh = TryOnEngine.draw(frame, tracked, [glasses])
                drawn = (fresh != frame).any(axis=2)
                differences.append(np.abs(image.astype(int) - fresh)[drawn].mean())
        assert len(differences) >= 4, engine.tracker.decisions
        assert max(differences) < 1.5, differences
    finally:
        engine.tracker.close()
