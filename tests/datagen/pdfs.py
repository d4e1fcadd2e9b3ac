"""PDFs: Japanese text through reportlab CID fonts (``HeiseiMin-W3``), a tiny hand-written
writer for the 100,000-file mode, and the bad PDFs of issue 3 (encrypted, broken, an .exe).

``invariant=1`` makes reportlab's output byte-identical for the same input (no timestamp, no
random document id), which keeps packages deterministic by seed.
"""

from __future__ import annotations

import io
from functools import cache

from reportlab.lib.pdfencrypt import StandardEncryption  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

MINCHO = "HeiseiMin-W3"
USER_PASSWORD = "kura-user"  # the encrypted_pdf defect's open password


@cache
def _fonts() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))


def japanese(pages: list[list[str]], password: str | None = None) -> bytes:
    """A PDF with one page per item of ``pages``, each line drawn in 明朝 (a CID font, so
    pypdf extracts it back as Unicode)."""
    _fonts()
    out = io.BytesIO()
    encrypt = (
        StandardEncryption(password, ownerPassword="kura-owner", canPrint=0, canCopy=0)
        if password is not None
        else None
    )
    c = canvas.Canvas(out, invariant=1, pageCompression=1, encrypt=encrypt)
    for lines in pages:
        y = 800.0
        for i, line in enumerate(lines):
            c.setFont(MINCHO, 14 if i == 0 else 11)
            c.drawString(60, y, line)
            y -= 22 if i == 0 else 17
        c.showPage()
    c.save()
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def tiny(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF (Helvetica, ASCII lines only): ~1 KB, microseconds to build."""
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "60 800 Td", "14 TL"]
        ops += [f"({_escape(line)}) '" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode("ascii", "replace")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def broken(valid: bytes) -> bytes:
    """A PDF cut in the middle with garbage after it: header right, body and xref gone."""
    return valid[: max(64, len(valid) // 3)] + b"\n%%garbage\x00\xff" + bytes(32)


# A DOS/PE stub: what a Windows .exe starts with ("MZ" ... "This program cannot be run").
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8"
    + bytes(43)
    + b"\x80\x00\x00\x00"
    + b"\x0e\x1f\xba\x0e\x00\xb4\t\xcd!\xb8\x01L\xcd!This program cannot be run in DOS mode.\r\r\n$"
    + bytes(256)
)
