"""Size-guide benchmark: face width and PD on real photos against anthropometric references.

Prints, for the 13 people of the London set (studio photos, neutral and smiling), each one's sex,
measured face width and PD; per sex, mean +- SD against ANSUR II 2012 bizygomatic breadth (and PD
against the adult mean of Dodgson 2004); for lisa1-4 (one woman at several distances from a
webcam) the widths, the camera distance the measurement assumes, and their range; and how
MediaPipe's iris width compares with the hand-placed iris outlines (the iris is the millimetre
scale of everything above).

With --perspective it also re-renders London photos through a pinhole camera at 25-100 cm (the
face mesh textured from the photo, the rest of the photo behind it at the depth of the face
sides) and prints how much of the true shrinking of the outline/eye-distance ratio MediaPipe's
landmarks follow: where fit.OUTLINE_PERSPECTIVE_RESPONSE comes from.

    .venv/bin/python bench/bench_fit.py [--faces DIR] [--perspective]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from pathlib import Path

import cv2
import numpy as np
from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections

from tryon.config import PROJECT_ROOT
from tryon.fit import (
    FACE_SIDES,
    IRIS_DIAMETER_MM,
    RING_OVER_LIMBUS,
    FaceMeasurer,
    FrameMeasurement,
    camera_distance_mm,
    iris_diameter_px,
    measure_frame,
    upright_crop,
)
from tryon.limbus import limbus_pair
from tryon.makeup.landmarks import FACE_OVAL as LANDMARK_FACE_OVAL
from tryon.model_file import resolve_model_path
from tryon.tracking import LEFT_IRIS, RIGHT_IRIS, Face, FaceTracker

DEFAULT_FACES = PROJECT_ROOT / "tests" / "data" / "faces"
# Bizygomatic breadth, ANSUR II 2012 (Gordon et al. 2014, US Army, caliper on living subjects): mean, SD.
ANSUR_BIZYGOMATIC_MM = {"male": (142.6, 6.2), "female": (133.8, 5.6)}
# Mean interpupillary distance of adults, "around 63 mm", most within 50-75 (N. A. Dodgson, "Variation
# and extrema of human interpupillary distance", Proc. SPIE 5291, 2004).
ADULT_PD_MM = 63.0
EXPRESSIONS = ("neutral", "smiling")
PERSPECTIVE_FACES = ("001", "009", "018", "037", "070", "103", "124", "132")
DISTANCES_CM = (100, 60, 40, 30, 25)
EYE_DISTANCE_CM = 6.2  # the re-rendered faces' scale: their eye distance taken as this
_MESH = FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION
MESH_TRIANGLES = [[_MESH[i].start, _MESH[i + 1].start, _MESH[i + 2].start] for i in range(0, len(_MESH), 3)]
FACE_OVAL = list(LANDMARK_FACE_OVAL)
# Eye openings (the mesh leaves them open): eyelid contours with the iris points inside.
EYE_OPENINGS = [
    ([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7], list(range(468, 473))),
    ([263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249], list(range(473, 478))),
]


def load(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return image


def measure(tracker: FaceTracker, measurer: FaceMeasurer, path: Path) -> tuple[FrameMeasurement, Face]:
    """The measurement of one photo, and the face it was taken from."""
    photo = load(path)
    face = tracker.detect(photo).primary
    if face is None:
        raise SystemExit(f"no face in {path}")
    measurement = measurer.measure(photo, face)
    if not measurement.usable:
        raise SystemExit(f"{path.name}: not measurable ({measurement.reason})")
    return measurement, face


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):6.1f} +- {statistics.stdev(values):4.1f}"


def print_london(tracker: FaceTracker, measurer: FaceMeasurer, faces: Path) -> None:
    """Per person and per sex, both expressions."""
    with open(faces / "people.csv", newline="") as table:
        sexes = {row["id"]: row["sex"] for row in csv.DictReader(table)}
    widths: dict[tuple[str, str], list[float]] = {}
    pds: dict[tuple[str, str], list[float]] = {}
    print("London set: face width and PD (mm)")
    print(f"{'face':6} {'sex':7} {'width neutral':>14} {'width smiling':>14} {'PD neutral':>11} {'PD smiling':>11}")
    for person, sex in sorted(sexes.items()):
        row = {
            expression: measure(tracker, measurer, faces / f"{person}_{expression}.jpg")[0]
            for expression in EXPRESSIONS
        }
        for expression, measurement in row.items():
            widths.setdefault((sex, expression), []).append(measurement.face_width_mm)
            pds.setdefault((sex, expression), []).append(measurement.pd_mm)
        print(
            f"{person:6} {sex:7} {row['neutral'].face_width_mm:14.1f} {row['smiling'].face_width_mm:14.1f} "
            f"{row['neutral'].pd_mm:11.1f} {row['smiling'].pd_mm:11.1f}"
        )
    print()
    print(
        f"{'sex':7} {'expression':10} {'n':>2}  {'width mean +- SD':>16}  {'ANSUR II':>14}  {'diff':>5}   "
        f"{'PD mean +- SD':>14}  (adults: {ADULT_PD_MM:.0f}, Dodgson 2004)"
    )
    for sex in ("female", "male"):
        for expression in EXPRESSIONS:
            width, pd = widths[(sex, expression)], pds[(sex, expression)]
            ansur, ansur_sd = ANSUR_BIZYGOMATIC_MM[sex]
            print(
                f"{sex:7} {expression:10} {len(width):2}  {mean_sd(width):>16}  {ansur:6.1f} +- {ansur_sd:3.1f}  "
                f"{statistics.mean(width) - ansur:+5.1f}   {mean_sd(pd):>14}"
            )


def print_lisa(tracker: FaceTracker, measurer: FaceMeasurer, faces: Path) -> None:
    """One person near and far: the widths should agree."""
    print()
    print("lisa1-4: one woman, webcam, several distances")
    print(f"{'photo':10} {'width':>6} {'PD':>5} {'eye distance px':>16} {'assumed distance mm':>20}")
    widths = []
    for index in range(1, 5):
        measurement, face = measure(tracker, measurer, faces / f"lisa{index}.jpg")
        distance = camera_distance_mm(face, measurement.pd_mm / face.inter_ocular_px)
        widths.append(measurement.face_width_mm)
        print(
            f"lisa{index}.jpg {measurement.face_width_mm:6.1f} {measurement.pd_mm:5.1f} "
            f"{face.inter_ocular_px:16.1f} {distance:20.0f}"
        )
    print(f"range {max(widths) - min(widths):.1f} mm ({min(widths):.1f}-{max(widths):.1f})")


def print_iris_check(tracker: FaceTracker, faces: Path) -> None:
    """MediaPipe's iris width against the hand-placed iris outlines' (landmarks.json `irises`)."""
    truth = json.loads((faces / "landmarks.json").read_text())["faces"]
    ratios = []
    for name, points in sorted(truth.items()):
        if "irises" in points:
            hand_px = np.mean([np.ptp(np.array(iris)[:, 0]) for iris in points["irises"]])
            ratios.append(iris_diameter_px(tracker.detect(load(faces / name)).primary) / hand_px)
    if len(ratios) > 1:
        error = statistics.stdev(ratios) / len(ratios) ** 0.5
        print()
        print(
            f"iris width, MediaPipe / hand-placed, {len(ratios)} faces: {statistics.mean(ratios):.3f} +- {error:.3f}"
            " (above 1: the mm scale, PD and widths read small)"
        )


def print_pd_check(tracker: FaceTracker, measurer: FaceMeasurer, faces: Path) -> None:
    """The PD as measured (iris edge, or ring corrected) and from the landmark ring alone, against
    the PD the hand-placed pupils and iris outlines give under the same 11.7 mm iris; and how much
    wider the ring is than the iris edge (where RING_OVER_LIMBUS comes from)."""
    truth = json.loads((faces / "landmarks.json").read_text())["faces"]
    measured, ring_only, ratios, methods = [], [], [], []
    for name, points in sorted(truth.items()):
        photo = load(faces / name)
        face = tracker.detect(photo).primary
        if face is None or "irises" not in points:
            continue
        diameter = np.mean([np.ptp(np.array(iris)[:, 0]) for iris in points["irises"]])
        pupils = np.array(points["pupils"])
        hand = float(np.linalg.norm(pupils[0] - pupils[1])) * IRIS_DIAMETER_MM / diameter
        reading = measurer.measure(photo, face)
        measured.append(reading.pd_mm - hand)
        methods.append(reading.method)
        crop = upright_crop(photo, face)
        upright = tracker.detect(crop).primary
        assert upright is not None, name
        ring_only.append(measure_frame(upright).pd_mm - hand)
        pair = limbus_pair(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), upright)
        if pair is not None:
            ratios.append(iris_diameter_px(upright) / (pair[0].radius + pair[1].radius))
    print()
    print(f"PD against the hand-placed irises (same 11.7 mm iris), {len(measured)} faces:")
    for label, values in (("as measured", measured), ("landmark ring alone", ring_only)):
        worst = max(values, key=abs)
        print(f"  {label:<20} difference {np.mean(values):+5.2f} mm, SD {np.std(values):4.2f}, worst {worst:+5.1f}")
    print(f"  methods: {', '.join(f'{m} {methods.count(m)}' for m in sorted(set(methods)))}")
    ratio = f"{np.mean(ratios):.3f} +- {np.std(ratios):.3f}"
    print(f"  ring / iris edge on the upright crops: {ratio} (RING_OVER_LIMBUS {RING_OVER_LIMBUS})")


def eye_distance(points: np.ndarray) -> float:
    """Distance between the iris centres of (x, y) landmarks."""
    return float(np.linalg.norm(points[LEFT_IRIS] - points[RIGHT_IRIS]))


def triangulated(points: np.ndarray, ids: list[int], inside: np.ndarray, keep_inside: bool) -> list[list[int]]:
    """Delaunay triangles of `points` (numbered by `ids`) whose centres lie inside (or outside) a polygon."""
    x, y, w, h = cv2.boundingRect(points.astype(np.float32))
    subdivision = cv2.Subdiv2D((x - 5, y - 5, w + 10, h + 10))
    for point in points:
        subdivision.insert((float(point[0]), float(point[1])))
    triangles = []
    for corners in subdivision.getTriangleList().reshape(-1, 3, 2):
        triangle = [ids[int(np.argmin(np.linalg.norm(points - corner, axis=1)))] for corner in corners]
        centre = corners.mean(axis=0)
        is_inside = cv2.pointPolygonTest(inside.astype(np.float32), (float(centre[0]), float(centre[1])), False) >= 0
        if len(set(triangle)) == 3 and is_inside == keep_inside:
            triangles.append(triangle)
    return triangles


def scene(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (x, y, depth in pixels) and triangles: the face mesh, its eye openings, and the rest of
    the photo as a backdrop at the depth of the face sides."""
    width, height = size
    triangles = list(MESH_TRIANGLES)
    for contour, iris in EYE_OPENINGS:
        triangles += triangulated(landmarks[contour + iris, :2], contour + iris, landmarks[contour, :2], True)
    sides_depth = landmarks[list(FACE_SIDES), 2].mean()
    border = [(x, y) for x in np.linspace(0, width - 1, 12) for y in (0, height - 1)]
    border += [(x, y) for y in np.linspace(0, height - 1, 12)[1:-1] for x in (0, width - 1)]
    vertices = np.vstack([landmarks, [(x, y, sides_depth) for x, y in border]])
    border_ids = list(range(len(landmarks), len(vertices)))
    triangles += triangulated(
        vertices[FACE_OVAL + border_ids, :2], FACE_OVAL + border_ids, landmarks[FACE_OVAL, :2], False
    )
    return vertices, np.array(triangles)


def rendered(photo: np.ndarray, landmarks: np.ndarray, distance_px: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo seen by a pinhole camera `distance_px` from the face (landmark depth 0), at the same eye
    distance; with where the landmarks land. The photo itself is taken as seen from afar."""
    height, width = photo.shape[:2]
    centre = np.array([width / 2, height / 2])
    vertices, triangles = scene(landmarks, (width, height))
    depth = vertices[:, 2]
    magnification = np.ones_like(depth) if math.isinf(distance_px) else distance_px / (distance_px + depth)
    projected = (vertices[:, :2] - centre) * magnification[:, None]
    projected = projected * eye_distance(landmarks[:, :2]) / eye_distance(projected) + centre
    image = np.full_like(photo, 128)
    for triangle in triangles[np.argsort(-vertices[triangles, 2].mean(axis=1))]:  # far ones first
        target = projected[triangle].astype(np.float32)
        x, y, w, h = cv2.boundingRect(target)
        if w <= 0 or h <= 0:
            continue
        warp = cv2.getAffineTransform(vertices[triangle, :2].astype(np.float32), target - np.float32([x, y]))
        patch = cv2.warpAffine(photo, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, np.int32(np.round(target - [x, y])), 1)
        x0, y0 = max(x, 0), max(y, 0)
        region = image[y0 : y + h, x0 : x + w]
        inside = mask[y0 - y : y0 - y + region.shape[0], x0 - x : x0 - x + region.shape[1]].astype(bool)
        region[inside] = patch[y0 - y : y0 - y + region.shape[0], x0 - x : x0 - x + region.shape[1]][inside]
    return image, projected


def outline_ratio(points: np.ndarray) -> float:
    """Face outline width over the eye distance."""
    return float(np.linalg.norm(points[FACE_SIDES[1]] - points[FACE_SIDES[0]])) / eye_distance(points)


def print_perspective_response(tracker: FaceTracker, faces: Path) -> None:
    """Share of the true perspective shrinking of the outline that MediaPipe's landmarks follow."""
    print()
    print("perspective: outline/eye-distance ratio re-rendered at a distance, relative to the photo's")
    print(f"{'face':6} " + " ".join(f"{f'{d} cm: true MP share':>24}" for d in DISTANCES_CM))
    shares = []
    for person in PERSPECTIVE_FACES:
        photo = load(faces / f"{person}_neutral.jpg")
        landmarks = tracker.detect(photo).primary.landmarks
        flat, _ = rendered(photo, landmarks, math.inf)
        reference = outline_ratio(tracker.detect(flat).primary.landmarks[:, :2]), outline_ratio(landmarks[:, :2])
        px_per_cm = eye_distance(landmarks[:, :2]) / EYE_DISTANCE_CM
        cells = []
        for distance_cm in DISTANCES_CM:
            image, projected = rendered(photo, landmarks, distance_cm * px_per_cm)
            seen = outline_ratio(tracker.detect(image).primary.landmarks[:, :2]) / reference[0]
            true = outline_ratio(projected) / reference[1]
            shares.append((1 - seen) / (1 - true))
            cells.append(f"{true:.3f} {seen:.3f} {shares[-1]:.2f}")
        print(f"{person:6} " + " ".join(f"{cell:>24}" for cell in cells))
    print(
        f"MediaPipe follows {statistics.median(shares):.2f} of the shrinking (median; "
        f"{min(shares):.2f}-{max(shares):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--faces",
        type=Path,
        default=DEFAULT_FACES,
        help="folder with NNN_neutral/smiling.jpg, people.csv, landmarks.json and lisa1-4.jpg",
    )
    parser.add_argument(
        "--perspective",
        action="store_true",
        help="also measure how much of the perspective shrinking MediaPipe's outline follows",
    )
    args = parser.parse_args()
    with FaceTracker(resolve_model_path(), max_faces=4) as tracker:
        measurer = FaceMeasurer(tracker)
        print_london(tracker, measurer, args.faces)
        print_lisa(tracker, measurer, args.faces)
        print_iris_check(tracker, args.faces)
        print_pd_check(tracker, measurer, args.faces)
        if args.perspective:
            print_perspective_response(tracker, args.faces)


if __name__ == "__main__":
    main()
