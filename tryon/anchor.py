"""The face anchor: a coordinate frame on the eyeglass plane, computed from a tracked face.

The plane sits at the depth of the nose bridge of MediaPipe's posed canonical face, facing the way the
face faces. The pupils are found on it by casting camera rays through the iris landmarks, so anything
drawn at the anchor's lens positions projects exactly onto the pupils, while yaw and pitch foreshorten
it like a real object in front of the face. The head pose smoothing acts on this frame (7 numbers),
not on the 478 landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from tryon.camera import SHARP, CameraLook
from tryon.geometry import PinholeCamera, transform_points
from tryon.lighting import REFERENCE_LIGHT, Light
from tryon.smoothing import OneEuroFilter
from tryon.tracking import Face

NOSE_BRIDGE = 168  # canonical vertex between the eyes, at the depth where frames rest


@dataclass(frozen=True)
class FaceAnchor:
    """A right-handed frame in camera space (cm).

    origin: midway between the pupils, on the eyeglass plane.
    rotation: columns x (towards the person's left eye), y (up the face), z (out of the face).
    eye_distance: pupil to pupil along x on the plane, in the camera space's centimetres.
    pd_mm: the face's measured pupillary distance, when known: products can then be drawn at their
    true size (MediaPipe's camera-space centimetres are those of an average face, not this one).
    light: the scene's light on this face (tryon.lighting), so products are lit like the picture.
    look: the camera's noise and blur on this face (tryon.camera), so overlays are as soft and grainy.
    """

    origin: np.ndarray
    rotation: np.ndarray
    eye_distance: float
    camera: PinholeCamera
    pd_mm: float | None = None
    light: Light = field(default=REFERENCE_LIGHT)
    look: CameraLook = SHARP

    def to_camera(self, local: np.ndarray) -> np.ndarray:
        """Anchor-local points (N, 3) to camera space."""
        return np.asarray(local, dtype=np.float64) @ self.rotation.T + self.origin

    def project(self, local: np.ndarray) -> np.ndarray:
        """Anchor-local points (N, 3) to image pixels (N, 2)."""
        return self.camera.project(self.to_camera(local))


def anchor_from_face(face: Face) -> FaceAnchor:
    """Build the eyeglass-plane frame for one face."""
    rotation = _orthonormal(face.matrix[:3, :3])
    bridge = transform_points(face.matrix, face.canonical[NOSE_BRIDGE][None])[0]
    normal = rotation[:, 2]
    rays = face.camera.ray(face.iris_centres)
    pupils = rays * ((normal @ bridge) / (rays @ normal))[:, None]
    across = pupils[1] - pupils[0]
    if across @ rotation[:, 0] < 0:  # landmark order disagrees with the pose (e.g. upside-down input)
        across = -across
    across -= (across @ normal) * normal
    eye_distance = float(np.linalg.norm(across))
    x_axis = across / max(eye_distance, 1e-9)
    y_axis = np.cross(normal, x_axis)
    frame = np.column_stack([x_axis, y_axis, normal])
    return FaceAnchor(pupils.mean(axis=0), frame, eye_distance, face.camera)


class AnchorSmoother:
    """One Euro smoothing of the anchor pose (position, orientation, scale) for one stream."""

    def __init__(self, position: OneEuroFilter | None = None, rotation: OneEuroFilter | None = None) -> None:
        # Tuned on synthetic motion of real photos (tests/test_motion.py): about 3x less jitter at
        # rest, under 2% of the eye distance of lag in brisk motion. Position in cm, rotation in rad.
        self._position = position or OneEuroFilter(min_cutoff=1.0, beta=20.0, d_cutoff=1.0)
        self._rotation = rotation or OneEuroFilter(min_cutoff=1.0, beta=20.0, d_cutoff=3.0)
        self._scale = OneEuroFilter(self._position.min_cutoff, self._position.beta, self._position.d_cutoff)

    def reset(self) -> None:
        """Forget the history, e.g. when the face is lost."""
        for smoother in (self._position, self._rotation, self._scale):
            smoother.reset()

    def __call__(self, anchor: FaceAnchor, time_s: float) -> FaceAnchor:
        rotation_vector = cv2.Rodrigues(anchor.rotation)[0].ravel()
        position = self._position(anchor.origin, time_s)
        rotation = cv2.Rodrigues(self._rotation(rotation_vector, time_s))[0]
        eye_distance = float(self._scale(np.array([anchor.eye_distance]), time_s)[0])
        return replace(anchor, origin=position, rotation=rotation, eye_distance=eye_distance)


def _orthonormal(matrix: np.ndarray) -> np.ndarray:
    """The rotation nearest to a 3x3 matrix (drops any scale or shear)."""
    u, _, vt = np.linalg.svd(matrix)
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:
        u[:, -1] *= -1
        rotation = u @ vt
    return rotation
