"""Character rules of the application form (seed 004 第2 2(2), 3): 全角, 半角数字, 全角カタカナ.

Everything is checked on the text *as typed* and stored as typed: nothing is normalised
behind the applicant's back. Where a width conversion would make a value valid, the error
carries it as ``suggestion`` and the form offers it as a button; the applicant decides
(complaints about systems that silently rewrote or refused names: module-anchors §4).

外字 and variant characters common in names (﨑 U+FA11, 髙 U+9AD9, 𠮷 U+20BB7 outside the BMP)
are full-width characters like any other and are accepted; lengths count characters (code
points), so 𠮷 is one character, not two UTF-16 units.
"""

from __future__ import annotations

import re
import unicodedata

# Half-width: ASCII printable, half-width katakana and the half-width forms block.
_HALF = re.compile(r"[\x20-\x7e\uff61-\uff9f\uffe8-\uffee]")
_HALF_DIGITS = re.compile(r"^[0-9]+$")
_KATAKANA = re.compile(r"^[\u30a1-\u30f6\u30fb\u30fc\u3000]+$")
_HIRAGANA_OR_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30f6\uff66-\uff9f]")
# Half-width characters NFKC does not widen but the form wants full-width.
_WIDEN = str.maketrans(
    dict[str, str | int | None](
        {" ": "\u3000", "-": "\uff0d", "~": "\uff5e", '"': "\u201d", "'": "\u2019"}
    )
)


def half_width_chars(value: str) -> list[str]:
    """The half-width characters in ``value``, each once, in order."""
    return list(dict.fromkeys(_HALF.findall(value)))


def is_full_width(value: str) -> bool:
    return not _HALF.search(value)


def to_full_width(value: str) -> str:
    """The full-width form of ``value``: half-width katakana composed and widened, ASCII
    letters, digits and signs widened. Offered, never applied silently."""
    out: list[str] = []
    # Half-width katakana → full-width (NFKC composes ｶﾞ into ガ); leave every other
    # character alone (NFKC would also fold 﨑 and other compatibility characters).
    for chunk in re.split(r"([\uff61-\uff9f]+)", value):
        if chunk and "\uff61" <= chunk[0] <= "\uff9f":
            out.append(unicodedata.normalize("NFKC", chunk))
            continue
        for ch in chunk:
            if "!" <= ch <= "~" and ch not in "-~\"'":
                out.append(chr(ord(ch) + 0xFEE0))
            else:
                out.append(ch.translate(_WIDEN))
    return "".join(out)


def to_half_width_digits(value: str) -> str:
    """Full-width digits (and hyphens) as half-width: offered for 半角数字 fields."""
    table: dict[str, str | int | None] = {chr(0xFF10 + i): str(i) for i in range(10)}
    table.update({"\uff0d": "-", "\u2212": "-", "\u30fc": "-"})
    return value.translate(str.maketrans(table))


def is_half_digits(value: str) -> bool:
    return bool(_HALF_DIGITS.match(value))


def is_katakana(value: str) -> bool:
    """全角カタカナ (with ・, ー and the full-width space)."""
    return bool(_KATAKANA.match(value))


def to_katakana(value: str) -> str:
    """Hiragana and half-width katakana as full-width katakana (offered)."""
    widened = to_full_width(value)
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in widened)


def has_kana(value: str) -> bool:
    return bool(_HIRAGANA_OR_KANA.search(value))


def length(value: str) -> int:
    """Characters as a person counts them (code points: 𠮷 is one)."""
    return len(value)
