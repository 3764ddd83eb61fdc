"""Run the landmark model only when it would not repeat itself: a stream's last face reused or moved.

The landmark model is the floor every frame pays (~9 ms at 640x480 on one core, the drawing 1-3 ms).
A `ReusingTracker` wraps a VIDEO-mode `FaceTracker` behind the same `detect(frame) -> Detection` and
compares each frame with the key frame, the last one the model saw:

- reuse: the face box, the mouth and both eyes are unchanged beyond the camera's noise, so the key
  frame's face is returned as it was.
- propagate: the face moved a little and rigidly: sparse optical flow of landmarks on the rigid face
  (forehead, nose, cheekbones) agrees with one similarity transform, and once that motion is undone
  the face, mouth and eyes are unchanged. The key face is moved by it (landmarks and pose).
- infer: anything else. Real motion, a nod or a turn (the flow stops fitting one similarity), a mouth
  or eye that moved on a still face (talking, blinking: makeup must never lag the lips), a failed
  flow, no face, more than one face, and the bounded interval since the model last ran. What is
  drawn only on the upper face (glasses) does not watch the mouth and jaw (`ReusePolicy.watch_mouth`);
  what is drawn on the lips keeps the model running for a moment after the mouth moved (talking).

The change test looks at the difference with the key frame averaged over square blocks of 1/16 of
the eye distance (averaging shrinks the camera's noise), each block scored against the spread of
all the face box's blocks (their median absolute deviation, mostly noise since most of a face is
still), so it holds whatever the camera's noise. A region changed when one of its blocks stands out
or its blocks together do. Decisions are made against the key frame, never the previous frame, so a
slow drift adds up until it is seen. The frame clock of the wrapped tracker is unaffected: MediaPipe
starts its search from the last face it found, which the bounds on motion keep close.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

import cv2
import numpy as np

from tryon.makeup.landmarks import LEFT, LIPS_OUTER, RIGHT
from tryon.tracking import Detection, DetectionStatus, Face, FaceTracker, usable_frame

# Landmarks on the parts of the face that expressions hardly move: forehead, brows, eye corners, nose,
# cheekbones, sides (the textured ones anchor the flow; the robust fit drops the ones that do move).
# fmt: off
RIGID = (10, 151, 9, 108, 337, 69, 299, 67, 297, 109, 338, 104, 333, 70, 105, 107, 300, 334, 336, 33, 133,
         263, 362, 168, 6, 197, 195, 5, 4, 1, 19, 94, 98, 327, 129, 358, 64, 294, 48, 278, 116, 345, 117, 346,
         123, 352, 111, 340, 143, 372, 234, 454, 93, 323, 127, 356, 227, 447)
# fmt: on
MOUTH = LIPS_OUTER
INNER_LIP_MIDPOINTS = (13, 14)  # upper, lower: their distance is the mouth's opening
EYES = (RIGHT.eye_opening + (468, 469, 470, 471, 472), LEFT.eye_opening + (473, 474, 475, 476, 477))
BLOCKS_PER_EYE_DISTANCE = 16
MIN_NOISE = 0.3  # grey levels: the floor of a block's noise, for frames without any


class Decision(StrEnum):
    INFER = "infer"
    REUSE = "reuse"
    PROPAGATE = "propagate"


@dataclass(frozen=True)
class ReusePolicy:
    """When a frame may skip the model.

    block_sigmas: a block changed when it differs from the face box's median block by this many
        noise spreads (moved_sigmas once a motion is undone: resampling blurs edges a little);
        mean_sigmas: a region changed when its blocks' mean squared score exceeds 1 by
        this many of its standard errors (a small, coherent change over the whole region).
    max_motion: propagate only while no point of the face box moved more than this (of the eye
        distance) since the key frame; max_residual: nor the flow strays from the similarity by more.
    max_reuse_frames, max_propagate_frames: the model runs again after this many frames without it.
    watch_mouth: whether the mouth and jaw count; off when what is drawn rests on the upper face only
        (glasses): a shopper talking on a still face then costs no model calls.
    talking_frames, talking_gap: while the mouth is watched, once the model saw the lips' opening
        change by more than talking_gap (of the eye distance) since its last call, it runs on the
        next talking_frames frames too: speech comes in bursts, and its first and last small moves
        of the lips are below what the change test tells from a webcam's noise.
    """

    block_sigmas: float = 6.0
    moved_sigmas: float = 9.0
    mean_sigmas: float = 6.0
    max_motion: float = 0.06
    max_residual: float = 0.006
    max_reuse_frames: int = 30
    max_propagate_frames: int = 6
    watch_mouth: bool = True
    talking_frames: int = 10
    talking_gap: float = 0.01


UPPER_FACE_CATEGORIES = frozenset({"glasses"})  # products drawn on the upper face only


def policy_for(categories: Iterable[str], policy: ReusePolicy = ReusePolicy()) -> ReusePolicy:
    """`policy`, watching the mouth unless everything drawn (by product category) rests on the upper face."""
    return replace(policy, watch_mouth=not set(categories) <= UPPER_FACE_CATEGORIES)


@dataclass(frozen=True)
class _Key:
    """The last frame the model saw: its grey crop around the face, the face, and where things are."""

    gray: np.ndarray  # (h, w) uint8 crop of the frame at `origin`
    origin: np.ndarray  # (2,) crop's top-left corner in frame pixels
    frame_size: tuple[int, int]
    detection: Detection
    reused: Detection  # the same faces, marked as carried over (inferred=False)
    regions: tuple[tuple[slice, slice], ...]  # face, mouth, right eye, left eye, upper face: blocks of the crop
    block: int
    points: np.ndarray  # (N, 1, 2) float32 rigid landmarks in crop pixels


class ReusingTracker:
    """A VIDEO-mode `FaceTracker` that skips the model on frames it would repeat (see the module docstring).

    It owns the tracker it wraps (closing one closes both). `decisions` counts what was done.
    """

    def __init__(self, tracker: FaceTracker, policy: ReusePolicy = ReusePolicy()) -> None:
        if not tracker.video:
            raise ValueError("ReusingTracker needs a VIDEO-mode tracker")
        self.tracker = tracker
        self.policy = policy
        self.decisions: Counter[Decision] = Counter()
        self.last_decision = Decision.INFER
        self._key: _Key | None = None
        self._since_key = 0
        self._found = False  # whether the model's last call found a face
        self._fast = False  # whether the face moved beyond propagating between the last two model calls
        self._talking = 0  # frames left that run the model because the mouth moved lately

    @property
    def video(self) -> bool:
        return True

    def detect(self, frame_bgr: np.ndarray) -> Detection:
        """Like `FaceTracker.detect`, for frames in stream order."""
        gray = _gray(frame_bgr) if usable_frame(frame_bgr) else None
        decision, detection = self._decide(gray)
        if decision is Decision.INFER:
            detection = self.tracker.detect(frame_bgr)
            # A face just found (by the detector) is placed a little differently from one followed from
            # the last frame; only the latter is kept to be reused.
            followed = self._found
            self._found = detection.status is DetectionStatus.OK
            self._fast = self._key is not None and _moved_fast(self._key, detection, self._since_key + 1, self.policy)
            if self._key is not None and self.policy.watch_mouth and _mouth_moved(self._key, detection, self.policy):
                self._talking = self.policy.talking_frames
            else:
                self._talking = max(self._talking - 1, 0)
            self._key = _key_frame(gray, detection) if gray is not None and followed else None
            self._since_key = 0
        else:
            self._since_key += 1
        self.decisions[decision] += 1
        self.last_decision = decision
        assert detection is not None
        return detection

    def close(self) -> None:
        self.tracker.close()

    def __enter__(self) -> ReusingTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _decide(self, gray: np.ndarray | None) -> tuple[Decision, Detection | None]:
        key, policy = self._key, self.policy
        if gray is None or key is None or gray.shape[::-1] != key.frame_size:
            return Decision.INFER, None
        if self._since_key >= policy.max_reuse_frames or (policy.watch_mouth and self._talking > 0):
            return Decision.INFER, None
        current = _crop(gray, key)
        if not _changed(current, key, policy.block_sigmas, policy):
            return Decision.REUSE, key.reused
        if self._since_key >= policy.max_propagate_frames or self._fast:
            # A face moving faster than propagation follows (a turn, brisk motion) goes on moving: no flow tried.
            return Decision.INFER, None
        matrix = _rigid_motion(current, key, policy)
        if matrix is None:
            return Decision.INFER, None
        # The current frame with that motion undone, sampled from the whole frame (the crop's own
        # edges would be missing): crop pixel u of the key -> frame pixel A u + t + o now.
        to_frame = np.column_stack([matrix[:, :2], matrix[:, 2] + key.origin])
        undone = cv2.warpAffine(gray, to_frame, current.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        if _changed(undone, key, policy.moved_sigmas, policy):
            return Decision.INFER, None
        # The crop's motion in frame pixels: x -> A x + (t + o - A o) for the crop at o.
        frame_matrix = matrix.copy()
        frame_matrix[:, 2] += key.origin - matrix[:, :2] @ key.origin
        face = moved_face(key.detection.faces[0], frame_matrix)
        return Decision.PROPAGATE, Detection(DetectionStatus.OK, (face,), inferred=False)


def moved_face(face: Face, matrix: np.ndarray) -> Face:
    """`face` after the image moved by a 2x3 similarity `matrix` (frame pixels -> frame pixels).

    Landmarks move with it (depths scale with it). The pose rolls about the ray through the face's
    centre by the image's rotation, turns about the camera with that ray onto the centre's new
    image (a face seen at a new place in the picture, from the same angle, as a turning camera
    would see it), and comes `scale` times closer along it.
    """
    linear, shift = matrix[:, :2], matrix[:, 2]
    scale = math.sqrt(abs(float(np.linalg.det(linear))))
    landmarks = face.landmarks.copy()
    landmarks[:, :2] = face.landmarks[:, :2] @ linear.T + shift
    landmarks[:, 2] *= scale
    camera = face.camera
    centre = face.matrix[:3, 3]
    image_centre = camera.project(centre[None])[0]
    before, after = (
        ray / np.linalg.norm(ray) for ray in camera.ray(np.array([image_centre, image_centre @ linear.T + shift]))
    )
    angle = math.atan2(linear[1, 0], linear[0, 0])  # image y points down: a turn about the ray into the scene
    roll = cv2.Rodrigues(before * angle)[0]
    axis = np.cross(before, after)
    turn = cv2.Rodrigues(axis / max(np.linalg.norm(axis), 1e-12) * math.atan2(np.linalg.norm(axis), before @ after))[0]
    pose = face.matrix.copy()
    pose[:3, :3] = turn @ roll @ face.matrix[:3, :3]
    pose[:3, 3] = turn @ centre / scale
    return replace(face, landmarks=landmarks, matrix=pose)


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY)


def _key_frame(gray: np.ndarray, detection: Detection) -> _Key | None:
    """What later frames are compared with; None when there is not exactly one face to follow."""
    if len(detection.faces) != 1:
        return None
    face = detection.faces[0]
    block = max(2, round(face.inter_ocular_px / BLOCKS_PER_EYE_DISTANCE))
    points = face.landmarks[:, :2]
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * (high - low)
    height, width = gray.shape
    x0, y0 = np.maximum(np.floor(low - margin), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(high + margin), (width, height)).astype(int)
    x1, y1 = x0 + max((x1 - x0) // block, 1) * block, y0 + max((y1 - y0) // block, 1) * block  # whole blocks
    if x1 > width or y1 > height:
        return None
    origin = np.array([x0, y0], np.float64)
    local = points - origin

    def region(ids: tuple[int, ...], grow: tuple[float, float, float, float]) -> tuple[slice, slice]:
        """The block rows and columns around landmarks `ids`, grown (left, top, right, bottom) by
        those parts of the region's height: a mouth opens downwards, lids close over the eye."""
        (left, top), (right, bottom) = local[list(ids)].min(axis=0), local[list(ids)].max(axis=0)
        size = max(bottom - top, 0.25 * (right - left))
        rows = (max(int((top - grow[1] * size) // block), 0), int((bottom + grow[3] * size) // block) + 1)
        columns = (max(int((left - grow[0] * size) // block), 0), int((right + grow[2] * size) // block) + 1)
        return slice(*rows), slice(*columns)

    mouth = region(MOUTH, (0.3, 0.5, 0.3, 1.2))
    regions = (
        (slice(None), slice(None)),
        mouth,
        region(EYES[0], (0.3, 0.8, 0.3, 0.5)),
        region(EYES[1], (0.3, 0.8, 0.3, 0.5)),
        (slice(0, mouth[0].start), slice(None)),  # above the mouth: what talking leaves still
    )
    rigid = local[list(RIGID)].astype(np.float32).reshape(-1, 1, 2)
    crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
    carried = replace(detection, inferred=False)
    return _Key(crop, origin, (width, height), detection, carried, regions, block, rigid)


def _crop(gray: np.ndarray, key: _Key) -> np.ndarray:
    x0, y0 = key.origin.astype(int)
    return gray[y0 : y0 + key.gray.shape[0], x0 : x0 + key.gray.shape[1]]


def _changed(current: np.ndarray, key: _Key, block_sigmas: float, policy: ReusePolicy) -> bool:
    """Whether any region (face, mouth, eyes; or upper face and eyes) of `current` differs from the
    key crop beyond noise."""
    difference = cv2.subtract(current, key.gray, dtype=cv2.CV_32F)
    height, width = difference.shape
    blocks = cv2.resize(difference, (width // key.block, height // key.block), interpolation=cv2.INTER_AREA)
    centre = float(np.median(blocks))
    spread = max(1.4826 * float(np.median(np.abs(blocks - centre))), MIN_NOISE)
    scores = (blocks - centre) / spread
    _, _, right_eye, left_eye, upper = key.regions
    for rows, columns in key.regions[:4] if policy.watch_mouth else (upper, right_eye, left_eye):
        region = scores[rows, columns]
        if region.size == 0:
            continue
        if float(np.abs(region).max()) > block_sigmas:
            return True
        if float(np.mean(region**2)) > 1.0 + policy.mean_sigmas * math.sqrt(2.0 / region.size):
            return True
    return False


def _mouth_moved(key: _Key, detection: Detection, policy: ReusePolicy) -> bool:
    """Whether the lips' opening changed by more than `talking_gap` of the eye distance from the key's face."""
    if len(detection.faces) != 1:
        return False
    before, after = key.detection.faces[0], detection.faces[0]
    upper, lower = INNER_LIP_MIDPOINTS
    opening = [
        float(np.linalg.norm(f.landmarks[upper, :2] - f.landmarks[lower, :2])) / f.inter_ocular_px
        for f in (before, after)
    ]
    return abs(opening[1] - opening[0]) > policy.talking_gap


def _moved_fast(key: _Key, detection: Detection, frames: int, policy: ReusePolicy) -> bool:
    """Whether the rigid landmarks moved more than propagation allows per frame from the key's face
    to the one just found, `frames` frames later."""
    if len(detection.faces) != 1:
        return False
    before, after = (d.faces[0].landmarks[list(RIGID), :2] for d in (key.detection, detection))
    travel = float(np.linalg.norm(after - before, axis=1).max()) / frames
    return travel > policy.max_motion * key.detection.faces[0].inter_ocular_px


def _rigid_motion(current: np.ndarray, key: _Key, policy: ReusePolicy) -> np.ndarray | None:
    """The 2x3 similarity (key crop pixels -> current crop pixels) the rigid landmarks moved by, or
    None when the flow fails, strays from a similarity, or shows more than a small motion."""
    eye_distance = key.detection.faces[0].inter_ocular_px
    window = (21, 21)
    moved, found, _ = cv2.calcOpticalFlowPyrLK(key.gray, current, key.points, None, winSize=window, maxLevel=2)
    # No backward flow to check each point: the robust fit drops points that strayed, and the caller
    # checks the motion on every block of the face (`_changed` on the frame with it undone).
    good = found.ravel() == 1
    if good.sum() < 0.6 * len(good):
        return None
    source, target = key.points[good].reshape(-1, 2), moved[good].reshape(-1, 2)
    matrix, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.LMEDS)
    if matrix is None:
        return None
    residual = np.linalg.norm(source @ matrix[:, :2].T + matrix[:, 2] - target, axis=1)
    if float(np.median(residual)) > policy.max_residual * eye_distance:
        return None
    height, width = key.gray.shape
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], np.float64)
    travel = np.linalg.norm(corners @ matrix[:, :2].T + matrix[:, 2] - corners, axis=1).max()
    return matrix if travel <= policy.max_motion * eye_distance else None
