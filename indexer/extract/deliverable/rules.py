"""The validation rules of deliverables-and-bonds.md §2.2, as data, with the value checks.

Each check has the §2.2 rule number, a severity per profile and a Japanese message template:
- ``mlit``: 国土交通省 (lenient: like the MLIT チェックシステム, unreferenced files are a notice,
  cal-ed.go.jp/caution-20230323 [V]);
- ``maff``: 農林水産省 農業農村整備事業 (strict: undefined files are errors, dates must lie in
  the 工期, PDFs must carry no security; happylibus「チェックシステムのポイント
  (農林水産省編)」 [V]).
Where a rule rests on memory-only facts ([M] in the reference: length limits, the 写真-大分類
list, 測地系 codes) the severity is lowered so an unverified table never rejects a package.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass
from typing import Literal

Profile = Literal["mlit", "maff"]
Severity = Literal["E", "W", "N"]
PROFILES: tuple[Profile, ...] = ("mlit", "maff")


@dataclass(frozen=True)
class Rule:
    number: int
    check: str
    mlit: Severity
    maff: Severity
    template: str

    def severity(self, profile: Profile) -> Severity:
        return self.maff if profile == "maff" else self.mlit


_TABLE: tuple[Rule, ...] = (
    Rule(1, "index", "E", "E", "{detail}"),
    Rule(1, "index.case", "W", "W", "管理ファイル名は半角英大文字にしてください: {name}"),
    Rule(2, "dtd", "E", "E", "{detail}"),
    Rule(3, "folder.missing", "E", "E", "基礎情報の{element}「{folder}」のフォルダがありません。"),
    Rule(3, "folder.undeclared", "W", "W", "フォルダ「{folder}」が基礎情報に記入されていません。"),
    Rule(4, "unreferenced", "N", "E", "管理ファイルに記載のない{what}です（索引対象外）: {name}"),
    Rule(5, "junk", "E", "E", "不要なファイルまたはフォルダです（削除してください）: {name}"),
    Rule(6, "subfolder", "E", "E", "{folder}の下にサブフォルダは作成できません: {name}"),
    Rule(
        7,
        "name",
        "E",
        "E",
        "ファイル名・フォルダ名は半角英大文字・数字・_で8.3形式にしてください: {name}",
    ),
    Rule(8, "name.pattern", "E", "E", "ファイル名が命名規則（{pattern}）に合っていません: {name}"),
    Rule(9, "xml.malformed", "E", "E", "XMLの文法に誤りがあります: {detail}"),
    Rule(10, "xml.structure", "E", "E", "{detail}"),
    Rule(11, "char.platform", "E", "E", "機種依存文字「{char}」（U+{code}）は使用できません。"),
    Rule(11, "char.undecodable", "E", "E", "文字コードとして読めないバイトがあります。"),
    Rule(11, "char.halfkana", "E", "E", "半角カタカナ「{char}」は使用できません。"),
    Rule(11, "char.fullwidth", "W", "E", "{element}に全角の英数字「{char}」があります。"),
    Rule(12, "required", "E", "E", "必須項目「{element}」が記入されていません。"),
    Rule(13, "length", "W", "E", "「{element}」が長すぎます（全角{limit}文字まで）。"),
    Rule(
        14,
        "date.format",
        "E",
        "E",
        "「{element}」の日付「{value}」が正しくありません（CCYY-MM-DD）。",
    ),
    Rule(14, "date.range", "W", "E", "「{element}」{value}が工期（{start}〜{end}）の外です。"),
    Rule(15, "enum", "E", "E", "「{element}」の値「{value}」は使用できません（{allowed}）。"),
    Rule(15, "enum.category", "W", "W", "「{element}」の値「{value}」は一般的な区分にありません。"),
    Rule(15, "enum.datum", "N", "N", "測地系「{value}」は既知のコードではありません。"),
    Rule(16, "bounds", "E", "E", "境界座標が正しくありません: {detail}"),
    Rule(17, "orderer_code", "E", "E", "発注者コード「{value}」は半角数字8桁で記入してください。"),
    Rule(
        17, "address_code", "W", "W", "住所コード「{value}」は5桁の市区町村コードではありません。"
    ),
    Rule(18, "missing_file", "E", "E", "{xml}に記載のファイルがありません: {name}{hint}"),
    Rule(19, "serial", "E", "E", "シリアル番号「{value}」が重複しています。"),
    Rule(20, "dra_unused", "E", "E", "どの写真からも参照されていない参考図です: {name}"),
    Rule(21, "dra_folder", "W", "W", "{detail}"),
    Rule(22, "jpeg", "E", "E", "写真ファイルがJPEGとして読めません: {name}"),
    Rule(
        22,
        "jpeg.pixels",
        "W",
        "W",
        "写真の画素数が多すぎます（{pixels}画素、目安100〜300万画素）: {name}",
    ),
    Rule(
        23, "exif_date", "W", "W", "撮影年月日{value}とEXIFの撮影日時{exif}が一致しません: {name}"
    ),
    Rule(24, "pdf_security", "W", "E", "PDFにパスワードまたはセキュリティ設定があります: {name}"),
    Rule(26, "unsafe_path", "E", "E", "安全でないパスのため読み込みません: {name}"),
    Rule(
        27,
        "too_large",
        "E",
        "E",
        "管理ファイルが大きすぎるため読み込みません（{size}バイト）: {name}",
    ),
    Rule(
        28,
        "xml.entities",
        "E",
        "E",
        "XMLに実体宣言または外部参照があります（展開・取得はしません）: {detail}",
    ),
)
RULES: dict[str, Rule] = {r.check: r for r in _TABLE}


@dataclass(frozen=True)
class Finding:
    rule: int
    check: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def finding(
    check: str,
    profile: Profile,
    path: str | None = None,
    line: int | None = None,
    column: int | None = None,
    **values: object,
) -> Finding:
    rule = RULES[check]
    return Finding(
        rule.number,
        check,
        rule.severity(profile),
        rule.template.format(**values),
        path,
        line,
        column,
    )


# names (rules 5, 7, 8) -----------------------------------------------------------------------
JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "__macosx"})
NAME_RE = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9]{1,3})?$")
FIXED_NAMES = frozenset({"PRE-PIC.JPG", "POST-PIC.JPG"})
PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "PHOTO/PIC": (re.compile(r"^P\d{7}\.JPG$"), "Pnnnnnnn.JPG"),
    "PHOTO/DRA": (re.compile(r"^D\d{7}\.(JPG|TIF)$"), "Dnnnnnnn.JPG/TIF"),
    "REPORT": (
        re.compile(r"^(REPORT\d{2}\.PDF|REPORT\.XML|REP\d{2}\.DTD|REP\d{2}\.XSL)$"),
        "REPORTnn.PDF",
    ),
}


def is_junk(name: str) -> bool:
    return name.lower() in JUNK_NAMES or name.startswith("._")


def name_ok(name: str) -> bool:
    """Rule 7: half-width upper case letters, digits and _, 8.3; fixed exceptions allowed."""
    return name in FIXED_NAMES or bool(NAME_RE.match(name))


# characters (rule 11) ------------------------------------------------------------------------
_FULLWIDTH_ALNUM = re.compile(r"[０-９Ａ-Ｚａ-ｚ]")


def fullwidth_alnum(text: str) -> str | None:
    match = _FULLWIDTH_ALNUM.search(text)
    return match.group(0) if match else None


# lengths (rule 13) [M]: 127 全角 for titles; counted in Shift_JIS bytes / 2 ----------------------
LENGTH_LIMITS: dict[str, int] = {
    "写真タイトル": 127,
    "工事名称": 127,
    "業務名称": 127,
    "打合せ簿名称": 127,
    "資料名": 127,
    "図面名": 127,
    "報告書名": 127,
    "施工計画書名称": 127,
}


def too_long(text: str, limit: int) -> bool:
    try:
        size = len(text.encode("cp932"))
    except UnicodeError:
        size = len(text) * 2
    return size > limit * 2


# dates (rule 14) ---------------------------------------------------------------------------
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
DATE_FIELDS = (
    "工期開始日",
    "工期終了日",
    "履行期間-着手",
    "履行期間-完了",
    "撮影年月日",
    "発行日付",
    "受理日付",
    "完了日付",
)
# Dates that must lie within the 工期 (happylibus 農林水産省編 [V]).
IN_PERIOD = ("撮影年月日", "発行日付", "受理日付")


def valid_date(value: str) -> bool:
    match = DATE_RE.match(value)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and year >= 1900


# enumerations (rule 15) -----------------------------------------------------------------------
FLAGS = frozenset({"0", "1"})
# Goyo KUBUN_LIST_A [V], plus 品質管理写真 / 出来形管理写真 listed in the MLIT 写真管理基準 [M].
PHOTO_KUBUN = frozenset(
    {
        "着手前及び完成写真",
        "施工状況写真",
        "安全管理写真",
        "使用材料写真",
        "品質管理写真",
        "出来形管理写真",
        "災害写真",
        "事故写真",
        "その他",
    }
)
PHOTO_CATEGORIES = frozenset({"工事", "測量", "調査", "地質", "広報", "設計", "その他"})  # [M]
DATUM_CODES = frozenset({"00", "01", "02"})  # [M]


# 境界座標 (rule 16) [V]: longitude dddmmss (7 digits), latitude ddmmss (6 digits) ------------
def dms(value: str, digits: int) -> float | None:
    """Decimal degrees of a ``dddmmss``/``ddmmss`` string, or None when malformed."""
    if not re.fullmatch(rf"\d{{{digits}}}", value):
        return None
    deg, minutes, seconds = int(value[:-4]), int(value[-4:-2]), int(value[-2:])
    if minutes >= 60 or seconds >= 60:
        return None
    return deg + minutes / 60 + seconds / 3600


def check_bounds(
    west: str, east: str, north: str, south: str
) -> tuple[list[str], dict[str, float]]:
    """Problems (Japanese) and the decimal bounds for the map and search index."""
    problems: list[str] = []
    out: dict[str, float] = {}
    for label, key, value, digits, lo, hi in (
        ("西側境界座標経度", "west", west, 7, 122.0, 154.0),
        ("東側境界座標経度", "east", east, 7, 122.0, 154.0),
        ("北側境界座標緯度", "north", north, 6, 20.0, 46.0),
        ("南側境界座標緯度", "south", south, 6, 20.0, 46.0),
    ):
        deg = dms(value, digits)
        if deg is None:
            problems.append(f"{label}「{value}」の形式（{'dddmmss' if digits == 7 else 'ddmmss'}）")
        elif not lo <= deg <= hi:
            problems.append(f"{label}「{value}」が日本の範囲外")
        else:
            out[key] = round(deg, 6)
    if "west" in out and "east" in out and out["west"] > out["east"]:
        problems.append("西側が東側より大きい")
    if "south" in out and "north" in out and out["south"] > out["north"]:
        problems.append("南側が北側より大きい")
    return problems, out


ORDERER_CODE = re.compile(r"^\d{8}$")
ADDRESS_CODE = re.compile(r"^\d{5}$")
