"""MediaPipe's face geometry: the canonical face mesh and the camera its pose matrix assumes.

The FaceLandmarker's facial transformation matrix maps the canonical face model (centimetres, +y up,
+z towards the viewer) into an OpenGL-style camera space (looking down -z). MediaPipe's geometry
pipeline uses a perspective camera with a 63 degree vertical field of view and the principal point at
the image centre; `PinholeCamera` reproduces it so that 3D objects placed relative to the face project
onto the picture exactly as MediaPipe's own model does.
"""

from __future__ import annotations

import math
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tryon.errors import FaceModelError

VERTICAL_FOV_DEGREES = 63.0
GEOMETRY_MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"
CANONICAL_VERTEX_COUNT = 468


@dataclass(frozen=True)
class PinholeCamera:
    """The camera of MediaPipe's geometry pipeline for an image of `width` x `height` pixels."""

    width: int
    height: int

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (same on both axes)."""
        return self.height / (2.0 * math.tan(math.radians(VERTICAL_FOV_DEGREES) / 2.0))

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project camera-space points (N, 3), z < 0 in front of the camera, to pixels (N, 2)."""
        points = np.asarray(points, dtype=np.float64)
        depth = np.maximum(-points[..., 2], 1e-6)
        f = self.focal_px
        u = self.width / 2.0 + f * points[..., 0] / depth
        v = self.height / 2.0 - f * points[..., 1] / depth
        return np.stack([u, v], axis=-1)

    def ray(self, pixels: np.ndarray) -> np.ndarray:
        """Unnormalised ray directions (N, 3) through pixel positions (N, 2), with z = -1."""
        pixels = np.asarray(pixels, dtype=np.float64)
        f = self.focal_px
        x = (pixels[..., 0] - self.width / 2.0) / f
        y = -(pixels[..., 1] - self.height / 2.0) / f
        return np.stack([x, y, -np.ones_like(x)], axis=-1)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 rigid transform to points (N, 3)."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]


@lru_cache(maxsize=4)
def canonical_face_vertices(model_path: Path) -> np.ndarray:
    """The canonical face mesh (468, 3) in centimetres, read from the model bundle itself.

    The vertex order is the landmark order, so vertex i is where landmark i sits on an average face.
    """
    try:
        with zipfile.ZipFile(model_path) as bundle:
            blob = bundle.read(GEOMETRY_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise FaceModelError(f"{model_path} has no readable face geometry: {exc}") from exc
    mesh = next((value for field, value in _protobuf_fields(blob) if field == 1), None)
    if not isinstance(mesh, bytes):
        raise FaceModelError(f"{model_path}: canonical mesh missing from {GEOMETRY_MEMBER}")
    # Mesh3d.vertex_buffer (field 3) holds x, y, z, u, v per vertex as fixed32 floats.
    floats = [
        struct.unpack("<f", value)[0]
        for field, value in _protobuf_fields(mesh)
        if field == 3 and isinstance(value, bytes) and len(value) == 4
    ]
    vertices = np.asarray(floats, dtype=np.float64).reshape(-1, 5)[:, :3]
    if len(vertices) != CANONICAL_VERTEX_COUNT:
        raise FaceModelError(f"{model_path}: expected {CANONICAL_VERTEX_COUNT} canonical vertices, got {len(vertices)}")
    vertices.setflags(write=False)
    return vertices


def _protobuf_fields(blob: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, value) of a serialized protobuf message: ints for varints, bytes otherwise."""
    position = 0
    value: int | bytes
    while position < len(blob):
        key, position = _varint(blob, position)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(blob, position)
        elif wire_type == 2:
            length, position = _varint(blob, position)
            value, position = blob[position : position + length], position + length
        elif wire_type == 5:
            value, position = blob[position : position + 4], position + 4
        elif wire_type == 1:
            value, position = blob[position : position + 8], position + 8
        else:
            raise FaceModelError(f"unsupported protobuf wire type {wire_type}")
        yield field, value


def _varint(blob: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = blob[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, position
