"""The public API (`tryon.render`, `tryon.new_session`) and its users agree: photos, videos and streams
are all drawn at true size."""

import cv2
import numpy as np
import pytest

import tryon
from tests.conftest import load_face
from tryon.cli import main


def drawn_extent(before: np.ndarray, after: np.ndarray) -> tuple[int, int]:
    """Leftmost and rightmost columns where the glasses (a thick black frame) changed the picture."""
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 40
    columns = np.nonzero(changed.sum(axis=0) >= 3)[0]
    return int(columns.min()), int(columns.max())


def test_render_a_photo_in_one_call():
    photo = load_face("009_neutral.jpg")
    image = tryon.render(photo, ["evening", "aviator"])
    assert image.shape == photo.shape and (np.abs(image.astype(int) - photo).max(axis=2) > 10).mean() > 0.01


def test_a_stream_session_measures_the_face_and_draws_true_size(model_path):
    photo = load_face("lisa4.jpg")
    with tryon.new_session("stream", model_path=model_path) as session:
        for index in range(8):
            session.render(photo, ["rectangular"], timestamp_ms=index * 33)
        assert session.fit is not None and session.fit.frames_used == 8
        assert session.last.faces[0][1].pd_mm == pytest.approx(session.fit.pd_mm)


def test_unknown_session_kinds_are_refused():
    with pytest.raises(ValueError, match="photo"):
        tryon.new_session("movie")  # type: ignore[arg-type]


def test_a_video_rendered_by_the_cli_has_true_size_glasses(tmp_path):
    """Videos go through a stream session, so once the face is measured the frame has the width the
    photo render gives it (before, videos got glasses fitted to the eyes instead)."""
    photo = cv2.resize(load_face("009_neutral.jpg"), (480, 480))
    still_in, still_out = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(still_in), photo)
    assert main(["render", "--product", "rectangular", str(still_in), "-o", str(still_out)]) == 0
    left, right = drawn_extent(photo, cv2.imread(str(still_out)))

    video_in, video_out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    writer = cv2.VideoWriter(str(video_in), cv2.VideoWriter_fourcc(*"mp4v"), 10, (480, 480))
    for _ in range(15):
        writer.write(photo)
    writer.release()
    assert main(["render", "--product", "rectangular", str(video_in), "-o", str(video_out)]) == 0
    source, rendered = cv2.VideoCapture(str(video_in)), cv2.VideoCapture(str(video_out))
    for _ in range(15):
        ok_in, frame_in = source.read()
        ok_out, frame_out = rendered.read()
        assert ok_in and ok_out
    video_left, video_right = drawn_extent(frame_in, frame_out)
    assert (video_right - video_left) == pytest.approx(right - left, rel=0.03)
