"""Small generated inputs for the extraction tests: PDFs with Japanese text (reportlab CID
fonts), JPEGs with and without EXIF (Pillow), and the bad inputs of issue 3."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

MINCHO = "HeiseiMin-W3"
GOTHIC = "HeiseiKakuGo-W5"


@cache
def _fonts() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))
    pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))


def pdf(pages: list[str], font: str = MINCHO, user_password: str | None = None) -> bytes:
    """A PDF with one line of text per page."""
    _fonts()
    out = io.BytesIO()
    encrypt = (
        StandardEncryption(user_password, ownerPassword="owner-secret")
        if user_password is not None
        else None
    )
    c = canvas.Canvas(out, encrypt=encrypt)
    for text in pages:
        c.setFont(font, 12)
        c.drawString(50, 800, text)
        c.showPage()
    c.save()
    return out.getvalue()


def jpeg(size: tuple[int, int] = (640, 480), taken: str | None = None) -> bytes:
    """A JPEG; ``taken`` (``"2024:04:01 10:20:30"``) becomes EXIF DateTimeOriginal."""
    image = Image.new("RGB", size, (30, 120, 200))
    for x in range(0, size[0], 16):
        for y in range(0, size[1], 16):
            image.putpixel((x, y), (255, x % 256, y % 256))
    out = io.BytesIO()
    if taken is None:
        image.save(out, "JPEG", quality=85)
    else:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = taken
        image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def png(size: tuple[int, int] = (100, 50)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + bytes(48)
    + (b"This program cannot be run in DOS mode.\r\r\n$" + bytes(200))
)
BROKEN_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n%%garbage" + bytes(64)
