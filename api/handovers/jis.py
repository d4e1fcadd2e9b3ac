"""Text for a 電子納品 management XML (deliverables-and-bonds.md §1.8 「使用文字」, §2.2 rule 11):
JIS X 0208 and half-width JIS X 0201 Latin only, no half-width kana, no full-width digits or
Latin letters, no 機種依存文字.

``jis_text`` makes a work's data fit: NFKC first (full-width ＡＢ１ → AB1, half-width ｶﾅ →
カナ, ① → 1, ㈱ → (株)), control characters dropped, then any character Shift_JIS cannot
hold replaced by 〓 (the JIS substitute mark, げた). Every replacement is reported, so the
generation report can say which text was changed.
"""

from __future__ import annotations

import re
import unicodedata

SUBSTITUTE = "〓"
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def _fits(ch: str) -> bool:
    try:
        ch.encode("shift_jis")
        return True
    except UnicodeEncodeError:
        return False


def jis_text(value: object) -> tuple[str, list[str]]:
    """The text as the XML may hold it, and the characters that had to be replaced."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    replaced: list[str] = []
    out = []
    for ch in text:
        if ord(ch) < 0x80 or _fits(ch):
            out.append(ch)
        else:
            replaced.append(ch)
            out.append(SUBSTITUTE)
    return "".join(out).strip(), replaced


def ascii_ext(name: str, default: str = "DAT", size: int = 4) -> str:
    """The upper-case extension of a file name in half-width letters and digits, at most
    ``size`` characters (``default`` when there is none)."""
    _, dot, ext = name.rpartition(".")
    ext = re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKC", ext).upper()) if dot else ""
    return ext[:size] or default
