"""Management XML as Shift_JIS text (CP932 bytes), built from strings.

Element names are those of deliverables-and-bonds.md §1.4 (INDEX_C), §1.5 (INDEX_D, REPORT),
§1.6 (PHOTO05) and §1.7 (MEET, PLAN, OTHRS, REGISTER, DRAWINGF). Where the reference gives no
name (root elements other than constdata/photodata, the DRAWINGF group element, the INDEX_D
folder-name elements) the value is marked [M] below: memory only, kept in this one table so a
verified name is a one-line change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DECLARATION = '<?xml version="1.0" encoding="Shift_JIS"?>'


@dataclass(frozen=True)
class Doc:
    """A management file: root element, DTD file name and DTD_version attribute."""

    root: str
    dtd: str
    version: str


INDEX_C = Doc("constdata", "INDE_C08.DTD", "08")  # §1.4 [V]/[M]
INDEX_D = Doc("projectdata", "INDE_D05.DTD", "05")  # root [M] (§1.5)
PHOTO = Doc("photodata", "PHOTO05.DTD", "05")  # §1.6
MEET = Doc("meetdata", "MEET05.DTD", "05")  # root [M]
PLAN = Doc("plandata", "PLAN05.DTD", "05")  # root [M]
OTHRS = Doc("othrsdata", "OTHRS05.DTD", "05")  # root [M]
REGISTER = Doc("registerdata", "REGIST06.DTD", "06")  # DTD [V], root [M]
DRAWINGF = Doc("drawingfdata", "DRAW05.DTD", "05")  # root [M]
DRAWING = Doc("drawingdata", "DRAW05.DTD", "05")  # root [M]
REPORT = Doc("reportdata", "REP05.DTD", "05")  # root [M]
SURVEY = Doc("surveydata", "SURV05.DTD", "05")  # root [M]
DRAWING_GROUP = "図面情報"  # [M]

# PHOTO05.DTD as given in §1.6 (every leaf #PCDATA).
# ruff: noqa: E501
PHOTO05_DTD = """<!-- PHOTO05.DTD / 2008/05 -->
<!ELEMENT photodata (基礎情報,写真情報+,ソフトメーカ用TAG*)>
<!ATTLIST photodata DTD_version CDATA #FIXED "05">
<!ELEMENT 基礎情報 (写真フォルダ名,参考図フォルダ名?,適用要領基準)>
<!ELEMENT 写真情報 (写真ファイル情報,撮影工種区分,付加情報*,撮影情報,代表写真,提出頻度写真,施工管理値?,請負者説明文?)>
<!ELEMENT 写真ファイル情報 (シリアル番号,写真ファイル名,写真ファイル日本語名?,メディア番号)>
<!ELEMENT 撮影工種区分 (写真-大分類,写真区分?,工種?,種別?,細別?,写真タイトル,工種区分予備*)>
<!ELEMENT 付加情報 (参考図ファイル名,参考図ファイル日本語名?,参考図タイトル,付加情報予備*)>
<!ELEMENT 撮影情報 (撮影箇所?,撮影年月日)>
"""


def placeholder_dtd(name: str) -> bytes:
    """Stand-in text for a DTD whose official content is not bundled (ASCII)."""
    return (
        f"<!-- {name}: placeholder written by tests.datagen; not the official DTD. -->\n"
    ).encode("ascii")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


Node = tuple[str, "str | Iterable[Node]"]


def render(tag: str, value: str | Iterable[Node], indent: int = 0) -> str:
    """``(tag, text)`` leaves and ``(tag, [children])`` groups to indented XML text."""
    pad = "  " * indent
    if isinstance(value, str):
        return f"{pad}<{tag}>{escape(value)}</{tag}>\n"
    inner = "".join(render(t, v, indent + 1) for t, v in value)
    return f"{pad}<{tag}>\n{inner}{pad}</{tag}>\n"


def head(doc: Doc, system: str | None = None, internal: str = "") -> str:
    """Declaration, DOCTYPE (``system`` overrides the DTD name) and the root start tag."""
    subset = f" [\n{internal}]" if internal else ""
    return (
        f'{DECLARATION}\n<!DOCTYPE {doc.root} SYSTEM "{system or doc.dtd}"{subset}>\n'
        f'<{doc.root} DTD_version="{doc.version}">\n'
    )


def tail(doc: Doc) -> str:
    return f"</{doc.root}>\n"


def document(doc: Doc, children: Iterable[Node], **kw: str) -> str:
    return head(doc, **kw) + "".join(render(t, v, 1) for t, v in children) + tail(doc)


def sjis(text: str) -> bytes:
    """Shift_JIS bytes as Windows writes them (CP932: NEC/IBM extensions encodable)."""
    return text.encode("cp932")
