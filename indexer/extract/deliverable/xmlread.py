"""Reading 電子納品 management XML safely: Shift_JIS with a CP932 fallback, no network, no
entity expansion, positions kept for every element.

Rules (deliverables-and-bonds.md §1.8, §2.2 rules 9, 11 and 28):
- The files are declared ``Shift_JIS``. A strict decode is tried first; if it fails the bytes
  are decoded as CP932 and every character outside JIS X 0208 / JIS X 0201 (NEC and IBM
  extensions: ①, ㈱, Ⅰ, 髙 …) is reported with its line and column, never a crash.
- A file in another encoding (UTF-8, EUC-JP …) is read in that encoding and its characters
  are held to the same 使用文字 rule (issue 8 item 5): CP932-only characters are
  ``platform``, characters outside CP932 (𠮷, emoji) ``outside``. That the file is not
  Shift_JIS is the validator's finding (``Decoded.shift_jis``).
- CP932 maps some JIS X 0208 code points differently (``～`` U+FF5E vs ``〜`` U+301C, ``∥``,
  ``－``, ``￠`` …); those are folded back to the Shift_JIS reading, so they are not reported.
- Parsing uses defusedxml: entity declarations (billion laughs) and external entities are
  refused, and expat never loads the DTD named by DOCTYPE (it is recorded, not fetched).
- Unknown elements are kept: the whole tree is returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml.ElementTree as defused  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8 = {"utf-8", "utf8"}
_SJIS = {"shift_jis", "shift-jis", "sjis", "x-sjis", "cp932", "windows-31j", "ms932"}


@dataclass(frozen=True)
class CharIssue:
    """One character that is not allowed in a management XML, with its 1-based position."""

    kind: str  # "platform" (機種依存文字) | "outside" | "undecodable" | "halfwidth_kana"
    char: str
    line: int
    column: int


@dataclass
class Decoded:
    text: str
    encoding: str  # what the declaration said ("Shift_JIS" when absent and not UTF-8)
    issues: list[CharIssue] = field(default_factory=list)
    shift_jis: bool = True  # read as Shift_JIS (declared so, or undeclared and not UTF-8)
    declared: bool = True  # the XML declaration names an encoding


@dataclass
class XmlDoc:
    """A parsed management XML: its root, the DOCTYPE, and the position of each element."""

    root: Element
    doctype_name: str | None
    system_id: str | None
    encoding: str
    issues: list[CharIssue]
    positions: dict[Element, tuple[int, int]]
    shift_jis: bool = True
    declared: bool = True

    def pos(self, elem: Element | None) -> tuple[int | None, int | None]:
        if elem is None or elem not in self.positions:
            return None, None
        return self.positions[elem]

    @property
    def dtd_version(self) -> str | None:
        value = self.root.get("DTD_version")
        return value.strip() if value else None


class XmlError(Exception):
    """The XML could not be read. ``kind`` is ``malformed``, ``entities`` or ``encoding``."""

    def __init__(self, kind: str, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column


def declared_encoding(data: bytes) -> str | None:
    match = _DECL.match(data)
    if not match:
        return None
    enc = _DECL_ENCODING.search(match.group(0))
    return enc.group(1).decode("ascii") if enc else None


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    return line, index - start + 1


def _jis_issue(ch: str) -> str | None:
    """None for a character of JIS X 0208 / JIS X 0201 (CP932's own code points for the same
    characters included: ～ ∥ －), else ``platform`` (NEC/IBM extensions) or ``outside``."""
    try:
        ch.encode("shift_jis")
        return None
    except UnicodeEncodeError:
        pass
    try:
        raw = ch.encode("cp932")
    except UnicodeEncodeError:
        return "outside"
    try:
        raw.decode("shift_jis")
        return None
    except UnicodeDecodeError:
        return "platform"


def check_chars(text: str) -> list[CharIssue]:
    """The 使用文字 rule over text read in any encoding (§1.8): characters outside JIS X 0208
    and JIS X 0201, with their positions."""
    issues: list[CharIssue] = []
    line, col = 1, 1
    for ch in text:
        if ord(ch) > 0x7F and ch != "\ufeff":
            kind = "undecodable" if ch == "\ufffd" else _jis_issue(ch)
            if kind:
                issues.append(CharIssue(kind, ch, line, col))
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
    return issues


def decode(data: bytes) -> Decoded:
    """The text of a management XML and the characters that break the 使用文字 rules."""
    declared = declared_encoding(data)
    label = (declared or "").lower()
    if data.startswith(b"\xef\xbb\xbf") or label in _UTF8:
        text = data.decode("utf-8-sig", errors="replace")
        return Decoded(text, declared or "UTF-8", check_chars(text), False, bool(declared))
    if declared and label not in _SJIS:
        try:
            text = data.decode(declared, errors="replace")
        except LookupError:
            text = data.decode("cp932", errors="replace")
        return Decoded(text, declared, check_chars(text), False, True)
    encoding = declared or "Shift_JIS"
    has_decl = declared is not None or data.isascii()
    try:
        return Decoded(data.decode("shift_jis"), encoding, [], True, has_decl)
    except UnicodeDecodeError:
        pass
    raw = data.decode("cp932", errors="replace")
    out: list[str] = []
    issues: list[CharIssue] = []
    line, col = 1, 1
    for ch in raw:
        fixed = ch
        if ch == "\ufffd":
            issues.append(CharIssue("undecodable", ch, line, col))
        elif ord(ch) > 0x7F:
            try:
                fixed = ch.encode("cp932").decode("shift_jis")
            except UnicodeError:
                issues.append(CharIssue("platform", ch, line, col))
        out.append(fixed)
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
    return Decoded("".join(out), encoding, issues, True, has_decl)


def halfwidth_kana(text: str) -> list[CharIssue]:
    """Half-width katakana (U+FF61-FF9F), forbidden by the 使用文字 rule (§1.8)."""
    return [
        CharIssue("halfwidth_kana", ch, *_position(text, i))
        for i, ch in enumerate(text)
        if "\uff61" <= ch <= "\uff9f"
    ]


class _Builder(TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[Element, tuple[int, int]] = {}
        self.expat: Any = None
        self.doctype_info: tuple[str | None, str | None] = (None, None)

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        elem = super().start(tag, attrs)
        if self.expat is not None:
            self.positions[elem] = (
                self.expat.CurrentLineNumber,
                self.expat.CurrentColumnNumber + 1,
            )
        return elem

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        self.doctype_info = (name, system)

    def where(self) -> tuple[int | None, int | None]:
        if self.expat is None:
            return None, None
        return self.expat.CurrentLineNumber, self.expat.CurrentColumnNumber + 1


def parse(data: bytes) -> XmlDoc:
    """Decode and parse a management XML. Raises ``XmlError`` (never anything else) when the
    document is malformed or declares entities; the DTD is never fetched."""
    decoded = decode(data)
    body = decoded.text.lstrip("\ufeff")
    # The declaration names the byte encoding we already decoded; feed UTF-8 without it,
    # replaced by a declaration of the same line count so positions stay true.
    match = re.match(r"\s*<\?xml[^>]*\?>", body)
    if match:
        kept = match.group(0).count("\n")
        body = "\n" * kept + '<?xml version="1.0"?>' + body[match.end() :]
    builder = _Builder()
    parser = defused.DefusedXMLParser(target=builder, forbid_dtd=False)
    builder.expat = parser.parser
    try:
        parser.feed(body.encode("utf-8"))
        root = parser.close()
    except ParseError as exc:
        line, column = exc.position
        raise XmlError("malformed", str(exc), line, column + 1) from None
    except DefusedXmlException as exc:
        raise XmlError("entities", str(exc), *builder.where()) from None
    except (ValueError, RecursionError) as exc:  # pragma: no cover - expat edge cases
        raise XmlError("malformed", str(exc), *builder.where()) from None
    name, system = builder.doctype_info
    return XmlDoc(
        root=root,
        doctype_name=name,
        system_id=system,
        encoding=decoded.encoding,
        issues=decoded.issues + halfwidth_kana(decoded.text),
        positions=builder.positions,
        shift_jis=decoded.shift_jis,
        declared=decoded.declared,
    )
