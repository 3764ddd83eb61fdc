"""Temporal smoothing: the One Euro filter (Casiez, Roussel and Vogel, CHI 2012).

Strong smoothing while the signal is still (no jitter), little while it moves fast (no lag).
"""

from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    """One Euro filter over a vector signal sampled at irregular times (seconds).

    min_cutoff: cutoff frequency (Hz) at rest; lower = smoother when still.
    beta: how fast the cutoff rises with speed; higher = less lag in motion.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the history; the next sample passes through unchanged."""
        self._value: np.ndarray | None = None
        self._derivative: np.ndarray | None = None
        self._time: float | None = None

    def __call__(self, value: np.ndarray, time_s: float) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        if self._value is None or self._derivative is None or self._time is None:
            self._value, self._derivative, self._time = value, np.zeros_like(value), time_s
            return value.copy()
        if time_s <= self._time:  # repeated or out-of-order sample: keep the current estimate
            return self._value.copy()
        dt = time_s - self._time
        derivative = (value - self._value) / dt
        self._derivative = _lerp(self._derivative, derivative, _alpha(self.d_cutoff, dt))
        cutoff = self.min_cutoff + self.beta * np.abs(self._derivative)
        self._value = _lerp(self._value, value, _alpha(cutoff, dt))
        self._time = time_s
        return self._value.copy()


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


def _lerp(previous: np.ndarray, current: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    return previous + alpha * (current - previous)
