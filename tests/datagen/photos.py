"""JPEG photos with EXIF DateTimeOriginal (tag 36867 in the Exif IFD 0x8769), unique pixels.

Each photo is a random low-resolution colour field scaled up (a smooth gradient that JPEG
compresses well) with a dark-green 黒板 (blackboard) box and a few random strokes, so no two
generated photos are byte-identical unless a duplicate is asked for.
"""

from __future__ import annotations

import io
import random
from functools import cache

from PIL import Image, ImageDraw

SMALL = (320, 240)
REALISTIC = (1280, 960)
EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 36867


def jpeg(
    rng: random.Random,
    taken: str | None,
    size: tuple[int, int] = SMALL,
    quality: int = 75,
    xmp: bytes | None = None,
    detail: bool = False,
) -> bytes:
    """A JPEG of ``size``; ``taken`` (``"2026:04:06 10:20:30"``) becomes DateTimeOriginal;
    ``xmp`` is written as the XMP packet (APP1). ``detail`` adds sensor-like noise so the
    file is as large (and as costly to decode) as a real site photo of that size."""
    width, height = size
    base = Image.frombytes("RGB", (4, 3), rng.randbytes(4 * 3 * 3))
    image = base.resize(size, Image.Resampling.BILINEAR)
    if width >= 32 and height >= 24:
        draw = ImageDraw.Draw(image)
        bx, by = width // 20, height - height // 3 - height // 20
        draw.rectangle((bx, by, bx + width // 3, by + height // 3), fill=(28, 64, 40))
        for _ in range(6):
            x0, y0 = rng.randrange(width), rng.randrange(height)
            x1, y1 = rng.randrange(width), rng.randrange(height)
            shade = rng.randrange(256)
            draw.line((x0, y0, x1, y1), fill=(shade, shade, shade), width=2)
    if detail:
        image = Image.blend(image, _noise(size), 0.25)
    out = io.BytesIO()
    extra = {"xmp": xmp} if xmp else {}
    if taken is None:
        image.save(out, "JPEG", quality=quality, **extra)
    else:
        exif = Image.Exif()
        exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken
        image.save(out, "JPEG", quality=quality, exif=exif, **extra)
    return out.getvalue()


@cache
def _noise(size: tuple[int, int]) -> Image.Image:
    return Image.effect_noise(size, 40).convert("RGB")


def exif_taken(data: bytes) -> str | None:
    """DateTimeOriginal of a JPEG, or None (for tests)."""
    with Image.open(io.BytesIO(data)) as image:
        value = image.getexif().get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL)
    return str(value) if value is not None else None
