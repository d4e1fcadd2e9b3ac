"""Plain text in the encodings Japanese public works actually use, without extra libraries.

Order of evidence: a byte-order mark; strict UTF-8 (ASCII included); then Shift_JIS / CP932
and EUC-JP, each decoded strictly, and when both succeed the one that reads as more natural
Japanese wins. Deliverable XML and old text files are Shift_JIS, often with NEC/IBM extensions
(①, ㈱, Ⅰ), which only CP932 decodes: those are reported as ``cp932``.

Content that decodes to control characters, or not at all, is "not text" (binary labelled
``.txt``): the caller records a flag and indexes no body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A file is not text when more than this share of its characters are controls.
MAX_CONTROL_RATIO = 0.01
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1a")  # \x1a: DOS end-of-file marker


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # utf-8, utf-8-sig, utf-16, shift_jis, cp932, euc_jp, "" (not text)
    is_text: bool


def _controls(text: str) -> int:
    return sum(1 for ch in text if (ch < " " or ch == "\x7f") and ch not in _ALLOWED_CONTROLS)


def _textual(text: str) -> bool:
    if "\x00" in text:
        return False
    return _controls(text) <= max(1, int(len(text) * MAX_CONTROL_RATIO))


def _japanese_score(text: str) -> int:
    """Higher for text that reads like Japanese: kana and common kanji count, half-width kana
    and rare symbol blocks (what EUC-JP bytes look like when misread as CP932) count against."""
    score = 0
    for ch in text:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F:
            score += 2
        elif 0xFF61 <= code <= 0xFF9F:  # half-width katakana
            score -= 1
        elif 0xE000 <= code <= 0xF8FF:  # private use (user-defined characters)
            score -= 2
    return score


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _trim_partial(data: bytes, truncated: bool) -> bytes:
    """When ``data`` was cut from a longer file, drop a trailing partial character (at most 3
    bytes) so strict decoding still succeeds."""
    if not truncated:
        return data
    for cut in range(4):
        chunk = data[: len(data) - cut] if cut else data
        for enc in ("utf-8", "cp932", "euc_jp"):
            if _strict(chunk, enc) is not None:
                return chunk
    return data


def decode(data: bytes, *, truncated: bool = False) -> Decoded:
    """Decode ``data`` (the file, or its first bytes with ``truncated=True``)."""
    if not data:
        return Decoded("", "", True)
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
        return Decoded(text, "utf-8-sig", _textual(text))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
        return Decoded(text, "utf-16", _textual(text))
    data = _trim_partial(data, truncated)
    if b"\x00" in data[:8192]:
        return Decoded("", "", False)
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return Decoded(utf8, "utf-8", _textual(utf8))
    candidates: list[tuple[int, str, str]] = []
    # Windows wrote most of these files: decode with CP932's mappings (〜 as U+FF5E and so
    # on), and call it Shift_JIS when no vendor extension (①, ㈱) was needed.
    sjis = _strict(data, "cp932")
    if sjis is not None:
        label = "shift_jis" if _strict(data, "shift_jis") is not None else "cp932"
        candidates.append((_japanese_score(sjis), label, sjis))
    euc = _strict(data, "euc_jp")
    if euc is not None:
        candidates.append((_japanese_score(euc), "euc_jp", euc))
    if candidates:
        # Stable on ties: Shift_JIS/CP932 first, the more common encoding in this domain.
        _, encoding, text = max(candidates, key=lambda c: c[0])
        return Decoded(text, encoding, _textual(text))
    return Decoded("", "", False)


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_DECLARATION = re.compile(r"<\?.*?\?>|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>|<![A-Z][^>]*>", re.S)
_TAG = re.compile(r"</?[^\s<>/!?][^<>]*>")
_XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}
_CHAR_REF = re.compile(r"&#(x[0-9A-Fa-f]{1,6}|[0-9]{1,7});")


def markup_text(text: str) -> str:
    """The text of an XML (or DTD, XSL) document without its markup, one element's text a
    line: what people search for and read in a snippet, never ``<工事名称>`` (issue 8 §3
    item 2). Broken markup is stripped as far as it is recognisable; entities are resolved
    only as the five predefined ones and character references (no DTD is read)."""
    cdata: list[str] = []

    def keep(match: re.Match[str]) -> str:
        cdata.append(match.group(1))
        return f"\x00{len(cdata) - 1}\x00"

    text = _CDATA.sub(keep, text)
    text = _COMMENT.sub("\n", text)
    text = _DECLARATION.sub("\n", text)
    text = _TAG.sub("\n", text)
    for entity, char in _XML_ENTITIES.items():
        text = text.replace(entity, char)
    text = _CHAR_REF.sub(_char, text).replace("&amp;", "&")
    text = re.sub("\x00([0-9]+)\x00", lambda m: cdata[int(m.group(1))], text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _char(match: re.Match[str]) -> str:
    ref = match.group(1)
    code = int(ref[1:], 16) if ref[0] == "x" else int(ref)
    # XML 1.0 Char: tab, line ends, and the planes without surrogates
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    return chr(code) if allowed else " "
