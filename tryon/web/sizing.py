"""The size guide sent to shoppers: their measurements, how the frame on their face fits, and which
frames of the catalogue fit them. Computed per request or frame; never stored."""

from __future__ import annotations

from typing import Any, Sequence

from tryon.fit import FITS, PD_STATEMENT, FitEstimate, fit_advice, ideal_frame_width
from tryon.products import Catalog, Product


def glasses_widths(catalog: Catalog) -> dict[str, float]:
    """Front width (mm) of every glasses product of a catalogue, by id."""
    return {entry.id: catalog.get(entry.id).frame_width_mm for entry in catalog.entries() if entry.kind == "glasses"}


def size_report(fit: FitEstimate | None, products: Sequence[Product], widths: dict[str, float],
                product_ids: Sequence[str] = ()) -> dict[str, Any] | None:
    """Measurements, the advice for the glasses being tried (if any) and the frames that fit."""
    if fit is None:
        return None
    report: dict[str, Any] = {
        **fit.as_dict(),
        "ideal_frame_width_mm": round(ideal_frame_width(fit.face_width_mm), 1),
        "statement": PD_STATEMENT.format(accuracy=max(fit.accuracy_mm, 1.0)),
        "fitting": sorted(sku for sku, width in widths.items() if fit_advice(fit.face_width_mm, width) == FITS),
    }
    tried = [(sku, p) for sku, p in zip(product_ids, products) if p.kind == "glasses"] or \
            [(None, p) for p in products if p.kind == "glasses"]
    if tried:
        sku, glasses = tried[0]
        report["advice"] = {"product": sku, "frame_width_mm": glasses.frame_width_mm,
                            "verdict": fit_advice(fit.face_width_mm, glasses.frame_width_mm)}
    return report
