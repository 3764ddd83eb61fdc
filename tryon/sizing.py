"""The size guide sent to shoppers: their measurements, how the glasses on their face fit, and which
glasses of the catalogue fit them. Computed per request or camera frame; never stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tryon.fit import FITS, PD_STATEMENT, FitEstimate, fit_advice, ideal_glasses_width
from tryon.glasses import GlassesRenderer
from tryon.products import Catalog


def glasses_tried(catalog: Catalog, skus: Sequence[str]) -> tuple[str, GlassesRenderer] | None:
    """The (first) glasses among the ids being tried, looks aside."""
    for sku in skus:
        if catalog.look_members(sku) is None:
            product = catalog.get(sku)
            if isinstance(product, GlassesRenderer):
                return sku, product
    return None


def size_report(
    fit: FitEstimate | None, tried: tuple[str, GlassesRenderer] | None, widths: dict[str, float]
) -> dict[str, Any] | None:
    """Measurements, the advice for the glasses being tried (if any) and the glasses that fit."""
    if fit is None:
        return None
    report: dict[str, Any] = {
        **fit.as_dict(),
        "ideal_glasses_width_mm": round(ideal_glasses_width(fit.face_width_mm), 1),
        "statement": PD_STATEMENT.format(accuracy=max(fit.accuracy_mm, 1.0)),
        "fitting": fitting_first(fit.face_width_mm, widths),
    }
    if tried is not None:
        sku, glasses = tried
        report["advice"] = {
            "sku": sku,
            "width_mm": glasses.width_mm,
            "verdict": fit_advice(fit.face_width_mm, glasses.width_mm),
        }
    return report


@dataclass(frozen=True)
class FittingGlasses:
    """What a session's measured face says about the catalogue's glasses: the SKUs that fit, best
    first, and the front width that would fit best (nothing of the face itself)."""

    fitting: tuple[str, ...]
    ideal_width_mm: float


def fitting_first(face_width_mm: float, widths: dict[str, float]) -> list[str]:
    """The SKUs of the glasses that fit a face this wide, the closest to the ideal front width first."""
    ideal = ideal_glasses_width(face_width_mm)
    fitting = [sku for sku, width in widths.items() if fit_advice(face_width_mm, width) == FITS]
    return sorted(fitting, key=lambda sku: (abs(widths[sku] - ideal), sku))
