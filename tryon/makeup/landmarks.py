"""Landmark index sets of MediaPipe's 478-point face mesh used to build makeup regions.

"Right" and "left" are the person's: the right eye is on the image left of an unmirrored photo.
Eye and brow contours run from the outer corner to the inner one.
"""

from __future__ import annotations

from dataclasses import dataclass

LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
MOUTH_CORNERS = (61, 291)

# fmt: off
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# fmt: on
NOSE_BRIDGE_LINE = (168, 6, 197, 195, 5)


@dataclass(frozen=True)
class SideLandmarks:
    """The landmarks of one side of the face."""

    upper_lid: tuple[int, ...]  # outer corner -> inner corner, along the lash line
    lower_lid: tuple[int, ...]  # inner corner -> outer corner
    brow_upper: tuple[int, ...]  # outer -> inner
    brow_lower: tuple[int, ...]  # outer -> inner
    cheek_apple: tuple[int, ...]
    cheek_axis: tuple[int, int]  # from low-inner to high-outer cheek
    cheekbone: tuple[int, ...]
    cheek_hollow: tuple[int, ...]

    @property
    def eye_opening(self) -> tuple[int, ...]:
        return self.upper_lid + self.lower_lid[1:-1]

    @property
    def brow(self) -> tuple[int, ...]:
        return self.brow_upper + tuple(reversed(self.brow_lower))


RIGHT = SideLandmarks(
    upper_lid=(33, 246, 161, 160, 159, 158, 157, 173, 133),
    lower_lid=(133, 155, 154, 153, 145, 144, 163, 7, 33),
    brow_upper=(70, 63, 105, 66, 107),
    brow_lower=(46, 53, 52, 65, 55),
    cheek_apple=(50, 101, 118, 123),
    cheek_axis=(206, 116),
    cheekbone=(116, 117, 118, 111),
    cheek_hollow=(147, 187, 213, 192),
)
LEFT = SideLandmarks(
    upper_lid=(263, 466, 388, 387, 386, 385, 384, 398, 362),
    lower_lid=(362, 382, 381, 380, 374, 373, 390, 249, 263),
    brow_upper=(300, 293, 334, 296, 336),
    brow_lower=(276, 283, 282, 295, 285),
    cheek_apple=(280, 330, 347, 352),
    cheek_axis=(426, 345),
    cheekbone=(345, 346, 347, 340),
    cheek_hollow=(376, 411, 433, 416),
)
SIDES = (RIGHT, LEFT)
