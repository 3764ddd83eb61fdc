"""Makeup products: data specs, landmark regions and Lab colour renderers."""

from tryon.makeup.renderers import MakeupRenderer, makeup_renderer
from tryon.makeup.spec import MAKEUP_TYPES, MakeupSpec, parse_makeup

__all__ = ["MAKEUP_TYPES", "MakeupRenderer", "MakeupSpec", "makeup_renderer", "parse_makeup"]
