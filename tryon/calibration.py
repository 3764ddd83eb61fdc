"""Calibrations a shopper asks for in a live stream: a card on the forehead for the PD (tryon.card),
a plain white card there for the light (tryon.white_card).

Each is a `Measurement` (one small protocol): it reads a frame, keeps its readings until enough of
them agree, and says why the last one was not taken. A `Calibration` drives one over a stream: it
looks at every other frame with a face (half the cost; the readings still come in a few seconds)
until measured, and gives up after CALIBRATION_FRAMES frames. Its `state` is what the widget shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from tryon.tracking import Face

CALIBRATION_FRAMES = 300  # a calibration looks this many frames (10 s at 30 fps) before it gives up


class Measurement(Protocol):
    """Readings over a stream's frames until they agree."""

    def read(self, frame: np.ndarray, face: Face, iris_pd_mm: float | None) -> None:
        """Look at one frame (uint8 BGR) for the reference, with the face followed and the iris's PD."""
        ...

    @property
    def code(self) -> str:
        """Why the last reading was not taken ("" when it was): for the widget's own words."""
        ...

    @property
    def kept(self) -> int:
        """Readings kept so far."""
        ...

    @property
    def result(self) -> dict[str, Any] | None:
        """What was measured, for the widget (numbers only), once the readings agree; else None."""
        ...


M = TypeVar("M", bound=Measurement)


@dataclass
class Calibration(Generic[M]):
    """One measurement driven over a stream's frames (see the module docstring)."""

    measurement: M
    frames: int = 0

    def update(self, frame: np.ndarray, face: Face | None, iris_pd_mm: float | None) -> None:
        """Count a frame (`face` None: nobody in view, not counted) and read every other one."""
        if face is None or self.frames >= CALIBRATION_FRAMES or self.measurement.result is not None:
            return
        self.frames += 1
        if self.frames % 2 == 1:
            self.measurement.read(frame, face, iris_pd_mm)

    @property
    def state(self) -> dict[str, Any]:
        """{"state": "measured", ...result}, {"state": "gave_up", "code"} or {"state": "looking", "code", "kept"}."""
        result = self.measurement.result
        if result is not None:
            return {"state": "measured", **result}
        if self.frames >= CALIBRATION_FRAMES:
            return {"state": "gave_up", "code": self.measurement.code}
        return {"state": "looking", "code": self.measurement.code, "kept": self.measurement.kept}
