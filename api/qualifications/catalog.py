"""The fixed tables of seed 004 the application is checked against.

- ``CATEGORIES``: the 32 qualification categories (入札参加資格の区分) of 第1 4 別表 in the
  seed's order, each with the construction licence kind it needs; three of them
  (プレストレストコンクリート, 法面処理, 鋼橋上部) need another category's licence and may only be
  applied for together with that base category (第1 4(1)オ).
- ``LEGAL_FORMS``: the 略号 table of 第2 3(4) (法人の種類 → 略号).
- ``municipalities()``: the 全国地方公共団体コード list (5 digits, without the check digit) the
  head office's 市区町村コード (第2 3(5) item 08) is chosen from, read from the ``japancode``
  package's data (MIT); prefectures as ``<pref>000``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from api.master.business_types import BUSINESS_TYPES

_LICENCE = dict((name, code) for code, name in BUSINESS_TYPES)


@dataclass(frozen=True)
class Category:
    code: str  # the licence kind's code, or "<base code><letter>" for the three extras
    name: str
    licence: str  # the licence kind it needs (第1 4(1)イ, 別表)
    base: str | None = None  # the category that must be applied for too (第1 4(1)オ)


def _categories() -> tuple[Category, ...]:
    extras = {
        "プレストレストコンクリート工事": ("01p", "土木一式工事"),
        "法面処理工事": ("05n", "とび・土工・コンクリート工事"),
        "鋼橋上部工事": ("11k", "鋼構造物工事"),
    }
    # 第1 4 別表, in the seed's order: each extra follows its base category.
    order = [
        "土木一式工事",
        "プレストレストコンクリート工事",
        "建築一式工事",
        "大工工事",
        "左官工事",
        "とび・土工・コンクリート工事",
        "法面処理工事",
        "石工事",
        "屋根工事",
        "電気工事",
        "管工事",
        "タイル・れんが・ブロック工事",
        "鋼構造物工事",
        "鋼橋上部工事",
        *[name for _, name in BUSINESS_TYPES[11:]],
    ]
    out: list[Category] = []
    for name in order:
        if name in extras:
            code, licence = extras[name]
            out.append(Category(code, name, licence, base=_LICENCE[licence]))
        else:
            out.append(Category(_LICENCE[name], name, name))
    return tuple(out)


CATEGORIES: tuple[Category, ...] = _categories()
CATEGORY_BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
ZOUEN = _LICENCE["造園工事"]  # 街路樹剪定士 (item 34) only with 造園工事 (第2 3(30))

# 第2 3(4): 法人の種類 → 略号, written before or after the name. Stored full-width (the name
# field is 全角); the half-width form "(株)" is a width error with a conversion offered.
LEGAL_FORMS: tuple[tuple[str, str], ...] = (
    ("株式会社", "（株）"),
    ("有限会社", "（有）"),
    ("合資会社", "（資）"),
    ("合名会社", "（名）"),
    ("協同組合", "（同）"),
    ("協業組合", "（業）"),
    ("企業組合", "（企）"),
    ("合同会社", "（合）"),
    ("有限責任事業組合", "（責）"),
    ("一般財団法人", "（一財）"),
    ("一般社団法人", "（一社）"),
    ("公益財団法人", "（公財）"),
    ("公益社団法人", "（公社）"),
    ("特例財団法人", "（特財）"),
    ("特例社団法人", "（特社）"),
)
ABBREVIATIONS: tuple[str, ...] = tuple(a for _, a in LEGAL_FORMS)

# 第2 3(3): the reading leaves out the kind of company; these readings of it are refused.
LEGAL_FORM_READINGS: tuple[str, ...] = (
    "カブシキガイシャ",
    "カブシキカイシャ",
    "ユウゲンガイシャ",
    "ユウゲンカイシャ",
    "ゴウシガイシャ",
    "ゴウメイガイシャ",
    "ゴウドウガイシャ",
    "キョウドウクミアイ",
    "キョウギョウクミアイ",
    "キギョウクミアイ",
    "ユウゲンセキニンジギョウクミアイ",
    "イッパンシャダンホウジン",
    "イッパンザイダンホウジン",
    "コウエキシャダンホウジン",
    "コウエキザイダンホウジン",
)

# 第2 3(7): 〈大臣・知事コード〉: 00 is the minister (国土交通大臣), 01-47 a governor.
PERMIT_AUTHORITIES: tuple[tuple[str, str], ...] = (("00", "国土交通大臣"),)


@dataclass(frozen=True)
class Municipality:
    code: str  # 5 digits: prefecture code + 3 (000 for the prefecture itself)
    name: str  # 広島県 / 呉市 / 広島市中区
    prefecture: str  # 広島県
    kana: str = ""

    @property
    def full_name(self) -> str:
        return self.name if self.code.endswith("000") else self.prefecture + self.name


@cache
def municipalities() -> dict[str, Municipality]:
    """Every municipality (and ward) by 5-digit code, prefectures as ``<pp>000``."""
    root = resources.files("japancode") / "data"
    prefs = {str(p["pid"]).zfill(2): p for p in json.loads((root / "prefectures.json").read_text())}
    out: dict[str, Municipality] = {}
    for code, pref in prefs.items():
        name = str(pref.get("pref") or pref.get("name") or "")
        out[f"{code}000"] = Municipality(f"{code}000", name, name, str(pref.get("prefkana", "")))
    for row in json.loads((root / "municipalities.json").read_text()):
        code = str(row["cid"]).zfill(5)
        pref = str(row["pref"])
        name = str(row["city"]).replace(" ", "")
        out[code] = Municipality(code, name, pref, str(row.get("citykana", "")))
    return out


def prefecture_name(code: str) -> str:
    """広島県 for "34"."""
    found = municipalities().get(f"{code}000")
    return found.name if found else code


def authorities() -> list[tuple[str, str]]:
    """The 〈大臣・知事コード〉 list: 00 国土交通大臣, then each governor (01 北海道知事 ...)."""
    out = list(PERMIT_AUTHORITIES)
    for code in range(1, 48):
        out.append((f"{code:02d}", f"{prefecture_name(f'{code:02d}')}知事"))
    return out
