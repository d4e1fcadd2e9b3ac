"""Japanese values for generated 電子納品 packages: orderers, works, 工種 trees, photo titles.

Values are plausible, not real: 発注者コード are random 8-digit strings, places and offices are
ordinary prefecture/city names with their real JIS municipality codes (住所コード, 5 digits).
Every string here is JIS X 0208 only (no 機種依存文字, no 半角カナ), so a clean package passes
rule 11 of deliverables-and-bonds.md §2.2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Place:
    """An orderer with its area: 発注者-大分類/中分類/小分類, 住所コード, 住所 and bounds."""

    pref: str
    bureau: str
    office: str
    section: str
    address_code: str
    address: str
    lon: tuple[int, int, int]  # degrees, minutes, seconds of the west edge
    lat: tuple[int, int, int]  # of the south edge


PLACES: tuple[Place, ...] = (
    Place(
        "広島県",
        "土木建築局",
        "西部建設事務所",
        "道路整備課",
        "34101",
        "広島県広島市中区基町",
        (132, 27, 0),
        (34, 23, 30),
    ),
    Place(
        "岡山県",
        "土木部",
        "備前県民局",
        "工務第一課",
        "33101",
        "岡山県岡山市北区内山下",
        (133, 55, 10),
        (34, 39, 20),
    ),
    Place(
        "山口県",
        "土木建築部",
        "周南土木建築事務所",
        "道路課",
        "35215",
        "山口県周南市岐山通",
        (131, 48, 20),
        (34, 3, 10),
    ),
    Place(
        "愛媛県",
        "土木部",
        "中予地方局建設部",
        "道路課",
        "38201",
        "愛媛県松山市一番町",
        (132, 45, 40),
        (33, 50, 30),
    ),
    Place(
        "香川県",
        "土木部",
        "中讃土木事務所",
        "工務課",
        "37202",
        "香川県丸亀市大手町",
        (133, 47, 30),
        (34, 17, 0),
    ),
    Place(
        "島根県",
        "土木部",
        "出雲県土整備事務所",
        "道路建設第一課",
        "32203",
        "島根県出雲市今市町",
        (132, 45, 10),
        (35, 21, 40),
    ),
)
CITY_PARTS = ("一丁目", "二丁目", "三丁目", "地内", "字中原", "字新田", "字大谷")

ROUTES = ("中央", "東部環状", "山手", "城南", "八幡", "高屋", "西条", "北浜", "南原", "大谷")
RIVERS = ("黒瀬", "太田", "芦田", "沼田", "八幡", "瀬野")
AREAS = ("中原", "新田", "大谷", "東条", "上野", "西野")
CONSTRUCTION_TITLES = (
    "{route}線道路改良工事（その{n}）",
    "県道{route}線舗装補修工事（その{n}）",
    "一級河川{river}川河川改修工事（その{n}）",
    "{route}橋橋梁補修工事（その{n}）",
    "市道{route}線側溝整備工事（その{n}）",
)
FARM_TITLES = (
    "{area}地区農道整備工事（その{n}）",
    "{area}地区用排水路改修工事（その{n}）",
    "{area}地区ほ場整備工事（その{n}）",
)
SERVICE_TITLES = (
    "{route}線道路詳細設計業務（その{n}）",
    "一級河川{river}川測量設計業務",
    "{route}橋橋梁点検業務（その{n}）",
    "{area}地区用排水路実施設計業務",
)
FIELDS = ("道路", "河川", "橋梁", "農業土木")
INDUSTRIES = ("一般土木工事", "アスファルト舗装工事", "鋼橋上部工事", "法面処理工事")
CONTRACTOR_FORMS = ("株式会社{x}建設", "{x}土木株式会社", "有限会社{x}組", "株式会社{x}工務店")
CONTRACTOR_STEMS = ("中央", "山陽", "瀬戸内", "大和", "日進", "平和", "三和", "共栄", "丸山")
CONSULTANT_FORMS = ("株式会社{x}技術コンサルタント", "{x}設計株式会社", "株式会社{x}測量")

# 工種 -> 種別 -> 細別 (土木工事共通仕様書の工種体系に倣った組み合わせ)
WORK_TREE: dict[str, dict[str, tuple[str, ...]]] = {
    "道路土工": {
        "掘削工": ("土砂掘削", "軟岩掘削"),
        "路体盛土工": ("路体盛土",),
        "路床盛土工": ("路床盛土",),
    },
    "排水構造物工": {
        "側溝工": ("プレキャストU型側溝", "管渠型側溝"),
        "集水桝工": ("集水桝",),
        "管渠工": ("管渠",),
    },
    "舗装工": {
        "アスファルト舗装工": ("下層路盤", "上層路盤", "基層", "表層"),
        "舗装準備工": ("不陸整正",),
    },
    "擁壁工": {
        "場所打擁壁工": ("コンクリート", "型枠", "鉄筋"),
        "プレキャスト擁壁工": ("プレキャスト擁壁",),
    },
    "構造物撤去工": {"構造物取壊し工": ("コンクリート構造物取壊し", "舗装版切断")},
    "防護柵工": {"路側防護柵工": ("ガードレール",), "防止柵工": ("転落防止柵",)},
    "区画線工": {"区画線工": ("溶融式区画線",)},
    "仮設工": {"交通管理工": ("交通誘導警備員",), "土留・仮締切工": ("鋼矢板",)},
}
KUBUN_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("施工状況写真", 50),
    ("出来形管理写真", 15),
    ("品質管理写真", 10),
    ("安全管理写真", 8),
    ("使用材料写真", 8),
    ("着手前及び完成写真", 6),
    ("その他", 3),
)
SITUATIONS = (
    "施工状況",
    "完了",
    "敷均し状況",
    "転圧状況",
    "出来形測定",
    "材料検収",
    "配筋状況",
    "打設状況",
    "養生状況",
)
METHODS = ("バックホウ掘削", "人力施工", "機械施工", "プレキャスト製品据付")

MEETING_KINDS = ("指示", "承諾", "協議", "提出", "報告", "通知")
MEETING_SUBJECTS = (
    "施工計画書の提出について",
    "工程表の変更について",
    "使用材料の承諾について",
    "現場条件の変化に伴う協議",
    "段階確認の実施について",
    "出来形管理基準の確認",
    "交通規制計画の協議",
    "建設発生土の処理について",
)
PLAN_TITLES = (
    "施工計画書",
    "施工計画書（変更）",
    "品質管理計画書",
    "安全管理計画書",
    "交通規制計画書",
)
OTHER_TITLES = ("品質証明書", "材料試験成績表", "段階確認書", "工事写真帳", "産業廃棄物管理票")
OTHER_FOLDERS = ("品質証明", "材料試験", "段階確認", "出来形管理", "安全管理")
REPORT_TITLES = (
    "報告書",
    "設計計算書",
    "数量計算書",
    "施工計画書（参考）",
    "照査報告書",
    "概算工事費",
)
KEYWORDS = ("道路設計", "詳細設計", "擁壁", "排水", "橋梁点検", "測量", "地質調査")
DRAWING_KINDS: tuple[tuple[str, str], ...] = (
    ("LC", "位置図"),
    ("PL", "平面図"),
    ("PF", "縦断図"),
    ("CS", "横断図"),
    ("ST", "構造図"),
    ("DT", "詳細図"),
)
SCALES = ("1:100", "1:200", "1:250", "1:500", "1:1000")

# Nouns for the distinctive searchable phrases on each PDF page.
PHRASE_A = (
    "擁壁基礎",
    "側溝据付",
    "路盤転圧",
    "鉄筋組立",
    "舗装切断",
    "排水桝",
    "法面保護",
    "鋼矢板打設",
    "区画線設置",
    "防護柵基礎",
)
PHRASE_B = (
    "配筋検査",
    "出来形確認",
    "品質試験",
    "段階確認",
    "立会検査",
    "材料検収",
    "工程調整",
    "安全点検",
)


def pick(rng: random.Random, items: tuple[str, ...]) -> str:
    return items[rng.randrange(len(items))]


def weighted(rng: random.Random, items: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in items)
    roll = rng.randrange(total)
    for value, weight in items:
        if roll < weight:
            return value
        roll -= weight
    return items[-1][0]


def fiscal_year(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def period(rng: random.Random) -> tuple[date, date]:
    """A 工期: starts on a weekday between 2024-04 and 2026-09, lasts 150-330 days."""
    start = date(2024, 4, 1) + timedelta(days=rng.randrange(900))
    while start.weekday() >= 5:
        start += timedelta(days=1)
    return start, start + timedelta(days=150 + rng.randrange(180))


def dms(value: tuple[int, int, int], seconds: int, digits: int) -> str:
    """``dddmmss`` / ``ddmmss`` after adding ``seconds`` (rule 16 format)."""
    total = value[0] * 3600 + value[1] * 60 + value[2] + seconds
    deg, rest = divmod(total, 3600)
    minutes, sec = divmod(rest, 60)
    return f"{deg:0{digits - 4}d}{minutes:02d}{sec:02d}"


def pick_place(rng: random.Random) -> Place:
    return PLACES[rng.randrange(len(PLACES))]
