"""Images: dimensions, the EXIF shooting date and a small JPEG thumbnail (Pillow).

JPEGs are decoded at reduced scale (``Image.draft``): libjpeg scales by 1/2, 1/4 or 1/8 while
decoding, so a 12-megapixel site photo becomes a thumbnail in a few milliseconds.

A truncated or corrupt image keeps what its header told (format, dimensions, EXIF date) and is
flagged ``broken`` with a Japanese note; it gets no thumbnail. It is still archived and found
by name and metadata, so it is not a pipeline failure.

``photo_date``: EXIF DateTimeOriginal is the camera's local time without a zone. Construction
photo dates (PHOTO.XML 撮影年月日) are calendar dates, so the date as shot is kept as a bare
``YYYY-MM-DD`` for search; the full local timestamp is kept as ``taken_at``.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # Pillow is imported by the functions that decode (2 MiB a process)
    from PIL import Image

THUMB_SIZE = 320
THUMB_QUALITY = 80
# Refuse to decode images larger than this (decompression bombs); dimensions are still read.
MAX_PIXELS = 200_000_000

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_DATETIME = 0x0132
_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


@dataclass
class ImageResult:
    format: str = ""
    width: int | None = None
    height: int | None = None
    photo_date: str | None = None  # YYYY-MM-DD
    taken_at: str | None = None  # YYYY-MM-DDTHH:MM:SS, camera local time
    thumbnail: bytes | None = None
    broken: bool = False
    notes: list[str] = field(default_factory=list)


def exif_datetime(value: object) -> str | None:
    """``"2024:04:01 10:20:30"`` -> ``"2024-04-01T10:20:30"``; None if absent or invalid."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="ignore")
    if not isinstance(value, str):
        return None
    match = _EXIF_DATE.match(value.strip())
    if not match:
        return None
    y, mo, d, h, mi, s = (int(g) for g in match.groups())
    if not (1900 <= y <= 2200 and 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{min(s, 59):02d}"


def _taken_at(image: Image.Image) -> str | None:
    try:
        exif = image.getexif()
    except Exception:
        return None
    if not exif:
        return None
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        sub = {}
    for value in (sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED), exif.get(_DATETIME)):
        found = exif_datetime(value)
        if found:
            return found
    return None


def _thumbnail(image: Image.Image, size: int) -> bytes:
    if image.format == "JPEG":
        image.draft("RGB", (size, size))
    image.thumbnail((size, size))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=THUMB_QUALITY, optimize=False)
    return out.getvalue()


def extract_image(fp: BinaryIO, thumb_size: int = THUMB_SIZE) -> ImageResult:
    """Dimensions, shooting date and thumbnail of the image in ``fp``; never raises on bad
    content."""
    from PIL import Image, UnidentifiedImageError

    result = ImageResult()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF warnings
        try:
            image = Image.open(fp)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            result.broken = True
            result.notes.append(f"画像を読み取れませんでした（{type(exc).__name__}）。")
            return result
        with image:
            result.format = image.format or ""
            result.width, result.height = image.size
            result.taken_at = _taken_at(image)
            result.photo_date = result.taken_at[:10] if result.taken_at else None
            if result.width * result.height > MAX_PIXELS:
                result.notes.append("画像が大きすぎるため、縮小画像を作成しませんでした。")
                return result
            try:
                result.thumbnail = _thumbnail(image, thumb_size)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                result.broken = True
                result.notes.append(
                    f"画像が途中で切れているか壊れています（{type(exc).__name__}）。"
                )
    return result


def fit_jpeg(data: bytes, max_px: int = 1000, quality: int = 80) -> bytes | None:
    """The image as a JPEG at most ``max_px`` on its long side, turned upright by its EXIF
    orientation, for printing (the 写真帳 PDF); None when it cannot be decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    return None
                if im.format == "JPEG":
                    im.draft("RGB", (max_px, max_px))
                upright = ImageOps.exif_transpose(im) or im
                rgb = upright.convert("RGB")
                rgb.thumbnail((max_px, max_px))
                out = io.BytesIO()
                rgb.save(out, "JPEG", quality=quality, optimize=True)
                return out.getvalue()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
