import cv2
import mediapipe as mp
import numpy as np
import pytest
from mediapipe.tasks.python import BaseOptions, vision

from tests.conftest import load_face
from tests.support.motion import fit_to_canvas
from tryon.errors import TryOnError
from tryon.landmarker_results import detect_faces
from tryon.tracking import DetectionStatus, FaceCounter, FaceTracker


def test_real_face_gives_landmarks_pose_blendshapes_and_confidence(still_tracker):
    detection = still_tracker.detect(load_face("001_neutral.jpg"))
    assert detection.status is DetectionStatus.OK
    face = detection.primary
    assert face.landmarks.shape == (478, 3)
    assert face.matrix.shape == (4, 4)
    assert np.allclose(face.matrix[3], [0, 0, 0, 1])
    assert face.matrix[2, 3] < 0  # in front of the camera
    assert 0.0 <= face.blendshapes["eyeBlinkLeft"] <= 1.0 and "jawOpen" in face.blendshapes
    assert face.confidence > 0.6
    assert 80 < face.inter_ocular_px < 140


@pytest.mark.parametrize("video", [False, True])
def test_results_read_into_numpy_are_the_public_apis(model_path, video):
    """tryon.landmarker_results reads MediaPipe's C result itself: the same numbers as the Tasks API."""
    frames = [load_face(name) for name in ("001_neutral.jpg", "092_smiling.jpg", "001_neutral.jpg")]
    mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE

    def landmarker():
        return vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(model_path)),
                running_mode=mode,
                num_faces=2,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
        )

    with landmarker() as public, landmarker() as ours:
        for index, frame in enumerate(frames):
            image = mp.Image(mp.ImageFormat.SRGB, np.ascontiguousarray(frame[..., ::-1]))
            clock = 1000 * (index + 1) if video else None
            expected = public.detect_for_video(image, clock) if video else public.detect(image)
            read = detect_faces(ours, image, clock)
            assert len(read.landmarks) == len(expected.face_landmarks) == 1
            points = np.array([(p.x, p.y, p.z) for p in expected.face_landmarks[0]])
            assert np.array_equal(read.landmarks[0], points)
            assert np.array_equal(read.matrices[0], expected.facial_transformation_matrixes[0])
            assert read.blendshapes[0] == {c.category_name: c.score for c in expected.face_blendshapes[0]}


def test_open_mouth_shows_in_blendshapes(still_tracker):
    closed = still_tracker.detect(load_face("001_neutral.jpg")).primary
    smiling = still_tracker.detect(load_face("092_smiling.jpg")).primary
    assert smiling.blendshapes["mouthSmileLeft"] > closed.blendshapes["mouthSmileLeft"] + 0.2


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((480, 640, 3), np.uint8),
        np.full((480, 640, 3), 255, np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
    ],
)
def test_frames_without_faces(still_tracker, frame):
    detection = still_tracker.detect(frame)
    assert detection.status is DetectionStatus.NO_FACE and detection.primary is None


@pytest.mark.parametrize(
    "frame",
    [
        None,
        "not an image",
        np.zeros((480, 640, 3), np.float32),
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((100, 100, 5), np.uint8),
        np.zeros((0, 640, 3), np.uint8),
    ],
)
def test_invalid_frames_are_a_status_not_an_exception(still_tracker, frame):
    assert still_tracker.detect(frame).status is DetectionStatus.INVALID_FRAME


def test_tiny_face_is_reported(model_path):
    canvas = np.full((480, 640, 3), 200, np.uint8)
    canvas[200:260, 300:360] = cv2.resize(load_face("001_neutral.jpg"), (60, 60), interpolation=cv2.INTER_AREA)
    with FaceTracker(model_path, min_face_px=20) as tracker:
        assert tracker.detect(canvas).status in (DetectionStatus.FACE_TOO_SMALL, DetectionStatus.NO_FACE)


def test_two_faces_largest_first(still_tracker):
    small = cv2.resize(load_face("009_neutral.jpg"), (450, 450))
    canvas = np.full((675, 1125, 3), 128, np.uint8)
    canvas[:, :675] = load_face("001_neutral.jpg")
    canvas[100:550, 675:] = small
    detection = still_tracker.detect(canvas)
    assert len(detection.faces) == 2
    assert detection.faces[0].iris_centres[:, 0].mean() < 675 < detection.faces[1].iris_centres[:, 0].mean()


def test_the_face_counter_sees_everyone_in_view(model_path):
    left, right = fit_to_canvas(load_face("009_neutral.jpg")), fit_to_canvas(load_face("103_neutral.jpg"))
    with FaceCounter(model_path) as counter:
        assert counter.count(np.hstack([left[:, 160:480], right[:, 160:480]])) == 2
        assert counter.count(left) == 1
        assert counter.count(np.full((480, 640, 3), 128, np.uint8)) == 0
        assert counter.count(np.zeros((4, 4), np.float32)) == 0  # not an image


def test_gray_and_bgra_frames_are_accepted(still_tracker):
    image = load_face("001_neutral.jpg")
    assert still_tracker.detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)).status is DetectionStatus.OK
    assert still_tracker.detect(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)).status is DetectionStatus.OK


def test_video_mode_follows_the_face_and_closes_cleanly(model_path):
    image = load_face("001_neutral.jpg")
    tracker = FaceTracker(model_path, video=True)
    for frame in (image, image, np.zeros_like(image), image):
        expected = DetectionStatus.OK if frame is image else DetectionStatus.NO_FACE
        assert tracker.detect(frame).status is expected
    tracker.close()
    tracker.close()
    with pytest.raises(TryOnError, match="closed"):
        tracker.detect(image)


def test_dark_frame_still_tracks(still_tracker):
    dark = (load_face("001_neutral.jpg") * 0.15).astype(np.uint8)
    assert still_tracker.detect(dark).status is DetectionStatus.OK


def test_no_errors_at_interpreter_exit_even_when_not_closed(model_path):
    import subprocess
    import sys

    script = (
        "import numpy as np\nfrom tryon.tracking import FaceTracker\n"
        f"t = FaceTracker({str(model_path)!r}, video=True)\n"
        "t.detect(np.zeros((64, 64, 3), np.uint8))\nprint('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok"
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
