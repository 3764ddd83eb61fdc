"""Makeup products as data: type, colour(s) as hex, opacity, finish and its parameters.

Every product validates with pydantic; `parse_makeup` turns a dict (from JSON or an API body)
into one of the specs below, or raises ProductError with the reasons.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tryon.errors import ProductError

HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#b0263c"])]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Makeup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=120)
    opacity: Fraction = 0.6


class Lipstick(_Makeup):
    type: Literal["lipstick"]
    colour: HexColour
    finish: Literal["matte", "satin", "gloss", "shimmer", "metallic"] = "satin"
    gloss: Fraction = Field(default=0.6, description="specular strength (gloss, metallic)")
    shimmer: Fraction = Field(default=0.5, description="sparkle strength (shimmer, metallic)")


class LipLiner(_Makeup):
    type: Literal["lip_liner"]
    colour: HexColour
    opacity: Fraction = 0.7
    width: float = Field(default=0.03, ge=0.005, le=0.1, description="line width, in eye distances")


class Eyeshadow(_Makeup):
    type: Literal["eyeshadow"]
    colours: list[HexColour] = Field(min_length=1, max_length=3, description="inner corner to outer corner")
    finish: Literal["matte", "shimmer"] = "matte"
    shimmer: Fraction = 0.5
    opacity: Fraction = 0.5
    height: float = Field(default=0.55, ge=0.25, le=0.8, description="how far up towards the brow, 0-1")


class Eyeliner(_Makeup):
    type: Literal["eyeliner"]
    colour: HexColour = "#141010"
    opacity: Fraction = 0.9
    thickness: float = Field(default=0.035, ge=0.01, le=0.12, description="at the outer corner, in eye distances")
    wing: float = Field(default=0.12, ge=0.0, le=0.5, description="wing length, in eye distances")


class Blush(_Makeup):
    type: Literal["blush"]
    colour: HexColour
    opacity: Fraction = 0.35
    size: float = Field(default=1.0, ge=0.5, le=1.6)


class Brow(_Makeup):
    type: Literal["brow"]
    colour: HexColour
    opacity: Fraction = 0.45


class Foundation(_Makeup):
    type: Literal["foundation"]
    colour: HexColour = Field(description="the shade")
    coverage: Fraction = 0.5
    opacity: Fraction = 1.0


class Highlighter(_Makeup):
    type: Literal["highlighter"]
    colour: HexColour = "#fff1e0"
    opacity: Fraction = 0.4
    shimmer: Fraction = 0.4


class Contour(_Makeup):
    type: Literal["contour"]
    colour: HexColour = "#6e5040"
    opacity: Fraction = 0.3


MakeupSpec = Annotated[
    Lipstick | LipLiner | Eyeshadow | Eyeliner | Blush | Brow | Foundation | Highlighter | Contour,
    Field(discriminator="type"),
]
MAKEUP_TYPES = (
    "lipstick",
    "lip_liner",
    "eyeshadow",
    "eyeliner",
    "blush",
    "brow",
    "foundation",
    "highlighter",
    "contour",
)
_ADAPTER: TypeAdapter[MakeupSpec] = TypeAdapter(MakeupSpec)


def parse_makeup(data: object) -> MakeupSpec:
    """Validate makeup product data; ProductError lists what is wrong."""
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ProductError(f"invalid makeup product: {problems}") from exc
