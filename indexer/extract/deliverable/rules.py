"""The validation rules of deliverables-and-bonds.md §2.2, as data, with the value checks.

Each check has the §2.2 rule number, a severity per profile and a Japanese message template:
- ``mlit``: 国土交通省 (lenient: like the MLIT チェックシステム, unreferenced files are a notice,
  cals-ed.go.jp/caution-20230323 [V]; photo dates outside the 工期 a warning);
- ``maff``: 農林水産省 農業農村整備事業 (strict: undefined files are errors, dates must lie in
  the 工期; happylibus「チェックシステムのポイント(農林水産省編)」 [V]).
Severities are those §2.2 gives (issue 8 item 6). Where a table rests on memory-only facts
([M] in the reference: the 127-character limit, the 写真-大分類 list, 測地系 codes) the table is
kept small and conservative (only values the reference names), so a package is never refused
for a value the official table might allow. Rules 26-29 are the reference's own safety rules;
rule 30 (the package belongs to its work, issue 8 item 10) is Kura's.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass
from typing import Literal

from indexer.extract.deliverable.names import is_junk

Profile = Literal["mlit", "maff"]
Severity = Literal["E", "W", "N"]
PROFILES: tuple[Profile, ...] = ("mlit", "maff")
__all__ = ["RULES", "Finding", "Profile", "Rule", "Severity", "finding", "is_junk"]


@dataclass(frozen=True)
class Rule:
    number: int
    check: str
    mlit: Severity
    maff: Severity
    template: str
    title: str = ""  # the rule's name, for reports (set from RULE_TITLES)

    def severity(self, profile: Profile) -> Severity:
        return self.maff if profile == "maff" else self.mlit


# §2.2 rule names (reports show "規則11 使用文字" rather than only the number).
RULE_TITLES: dict[int, str] = {
    1: "管理ファイル",
    2: "DTDファイル",
    3: "フォルダ構成",
    4: "管理ファイルに記載のないファイル",
    5: "不要ファイル",
    6: "サブフォルダ",
    7: "ファイル名・フォルダ名の文字",
    8: "命名規則",
    9: "XMLの文法",
    10: "DTDとの整合",
    11: "使用文字",
    12: "必須項目",
    13: "文字数",
    14: "日付",
    15: "選択肢",
    16: "境界座標",
    17: "コード",
    18: "ファイルの存在",
    19: "シリアル番号",
    20: "参考図",
    21: "参考図フォルダ",
    22: "写真（JPEG）",
    23: "撮影日",
    24: "PDFのセキュリティ",
    25: "小黒板情報",
    26: "安全でないパス",
    27: "サイズ上限",
    28: "XMLの実体・外部参照",
    29: "ウイルスチェック",
    30: "工事・業務との一致",
}

_TABLE: tuple[Rule, ...] = (
    Rule(1, "index", "E", "E", "{detail}"),
    Rule(1, "index.case", "W", "W", "管理ファイル名は半角英大文字にしてください: {name}"),
    Rule(2, "dtd", "E", "E", "{detail}"),
    Rule(3, "folder.missing", "E", "E", "基礎情報の{element}「{folder}」のフォルダがありません。"),
    Rule(3, "folder.undeclared", "W", "W", "フォルダ「{folder}」が基礎情報に記入されていません。"),
    Rule(
        3,
        "register",
        "E",
        "E",
        "適用要領基準「{code}」では台帳（REGISTERフォルダ）が必要です。",
    ),
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
    Rule(
        7,
        "name.chars",
        "E",
        "E",
        "ファイル名・フォルダ名は半角英大文字・数字・_にしてください: {name}",
    ),
    Rule(8, "name.pattern", "E", "E", "ファイル名が命名規則（{pattern}）に合っていません: {name}"),
    Rule(
        8, "folder.pattern", "E", "E", "フォルダ名が命名規則（{pattern}）に合っていません: {name}"
    ),
    Rule(9, "xml.malformed", "E", "E", "XMLの文法に誤りがあります: {detail}"),
    Rule(10, "xml.structure", "E", "E", "{detail}"),
    Rule(10, "xml.unknown", "N", "N", "{detail}（同梱DTDは公開資料からの再構成のため参考）"),
    Rule(10, "xml.nodtd", "N", "N", "{detail}"),
    Rule(11, "char.platform", "E", "E", "機種依存文字「{char}」（U+{code}）は使用できません。"),
    Rule(
        11, "char.outside", "E", "E", "JIS X 0208にない文字「{char}」（U+{code}）は使用できません。"
    ),
    Rule(11, "char.undecodable", "E", "E", "文字コードとして読めないバイトがあります。"),
    Rule(11, "char.halfkana", "E", "E", "半角カタカナ「{char}」は使用できません。"),
    Rule(
        11,
        "char.fullwidth",
        "E",
        "E",
        "{element}に全角の英数字「{char}」があります（半角で記入）。",
    ),
    Rule(
        11,
        "encoding",
        "E",
        "E",
        "管理ファイルの文字コードはShift_JISにしてください（宣言: {encoding}）。",
    ),
    Rule(12, "required", "E", "E", "必須項目「{element}」が記入されていません。"),
    Rule(
        12,
        "drawing.location",
        "E",
        "E",
        "{kind}の図面「{name}」には{missing}が必要です（CH-120）。",
    ),
    Rule(13, "length", "E", "E", "「{element}」が長すぎます（全角{limit}文字まで）。"),
    Rule(
        14,
        "date.format",
        "E",
        "E",
        "「{element}」の日付「{value}」が正しくありません（CCYY-MM-DD）。",
    ),
    Rule(14, "date.range", "W", "E", "「{element}」{value}が工期（{start}〜{end}）の外です。"),
    Rule(15, "enum", "E", "E", "「{element}」の値「{value}」は使用できません（{allowed}）。"),
    Rule(
        15, "enum.category", "E", "E", "「{element}」の値「{value}」は使用できません（{allowed}）。"
    ),
    Rule(15, "enum.datum", "E", "E", "測地系「{value}」は使用できません（00/01/02）。"),
    Rule(
        15,
        "enum.standard",
        "N",
        "N",
        "適用要領基準「{value}」は登録されている要領にありません（{used}の規則で検査）。",
    ),
    Rule(15, "media", "E", "E", "{detail}"),
    Rule(16, "bounds", "E", "E", "境界座標が正しくありません: {detail}"),
    Rule(17, "orderer_code", "E", "E", "発注者コード「{value}」は半角数字8桁で記入してください。"),
    Rule(
        17, "address_code", "W", "W", "住所コード「{value}」は5桁の市区町村コードではありません。"
    ),
    Rule(18, "missing_file", "E", "E", "{xml}に記載のファイルがありません: {name}{hint}"),
    Rule(18, "media.absent", "N", "N", "{detail}"),
    Rule(19, "serial", "E", "E", "シリアル番号「{value}」が重複しています。"),
    Rule(20, "dra_unused", "E", "E", "どの写真からも参照されていない参考図です: {name}"),
    Rule(21, "dra_folder", "W", "W", "{detail}"),
    Rule(22, "jpeg", "E", "E", "写真ファイルがJPEGとして読めません{detail}: {name}"),
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
    Rule(24, "pdf_security", "E", "E", "PDFにパスワードまたはセキュリティ設定があります: {name}"),
    Rule(25, "blackboard", "W", "W", "{detail}: {name}"),
    Rule(25, "blackboard.unverified", "N", "N", "{detail}"),
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
    Rule(29, "virus", "E", "E", "ウイルスが検出されました（{signature}）: {name}"),
    Rule(29, "virus.not_run", "N", "N", "{detail}"),
    Rule(29, "virus.error", "W", "W", "ウイルスチェックができませんでした: {detail}"),
    Rule(30, "work.orderer", "W", "W", "{detail}"),
    Rule(30, "work.title", "W", "W", "{detail}"),
)
RULES: dict[str, Rule] = {
    r.check: Rule(r.number, r.check, r.mlit, r.maff, r.template, RULE_TITLES[r.number])
    for r in _TABLE
}


@dataclass(frozen=True)
class Finding:
    rule: int
    check: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def title(self) -> str:
        return RULE_TITLES.get(self.rule, "")

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "title": self.title}


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
