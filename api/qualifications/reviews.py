"""経審 data: the operator's import and the check of a filing against it.

Seed 004 第2 3(29) ○注意事項1 and 第2 6(2): on send, the licence number (item 31, else 10),
the review base date (32) and each category's figures (33) are looked up in the system's
database; a mismatch shows the 経審 error screen. The database is what the operator imports:
a CSV (UTF-8 or Shift_JIS) or Excel file of 総合評定値通知書 lines, one per company, base date
and category, with its source and as-of date. Each line's P is checked against its components
when they are given: P = 0.25·X1 + 0.15·X2 + 0.20·Y + 0.25·Z + 0.15·W, rounded half up
(経営事項審査の総合評定値, module-anchors §4). An import with any bad line stores nothing and
lists the lines. The newest import becomes current; earlier ones are kept (a filing names the
set it was checked against).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from api.qualifications import catalog
from api.qualifications.checks import section, text
from api.qualifications.models import review_key

MAX_ROWS = 300_000
MAX_ERRORS = 100
COLUMNS: dict[str, str] = {
    "authority": "許可行政庁コード",
    "number": "許可番号",
    "name": "商号又は名称",
    "base_date": "審査基準日",
    "notified_on": "結果通知日",
    "category": "業種",
    "permit_kind": "許可区分",
    "x1": "X1",
    "x2": "X2",
    "y": "Y",
    "z": "Z",
    "w": "W",
    "p": "総合評定値P",
    "staff1": "一級技術職員数",
    "staff2": "二級技術職員数",
    "staff_other": "その他技術職員数",
    "average": "平均完成工事高",
    "employment": "雇用保険",
    "health": "健康保険",
    "pension": "厚生年金保険",
    "iso14001": "ISO14001",
}
REQUIRED = (
    "authority",
    "number",
    "base_date",
    "category",
    "permit_kind",
    "p",
    "staff1",
    "staff2",
    "staff_other",
    "average",
    "employment",
    "health",
    "pension",
    "iso14001",
)
PERMIT_KIND = {"一般": "general", "特定": "special"}
_BY_NAME = {c.name: c.code for c in catalog.CATEGORIES} | {
    c.name.removesuffix("工事"): c.code for c in catalog.CATEGORIES
}


class ImportError_(Exception):
    """The file cannot be imported; ``errors`` lists ``{line, message}``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "import failed")
        self.errors = errors


def p_score(x1: int, x2: int, y: int, z: int, w: int) -> int:
    """P = 0.25X1 + 0.15X2 + 0.20Y + 0.25Z + 0.15W, rounded half up to an integer."""
    total = (
        Decimal("0.25") * x1
        + Decimal("0.15") * x2
        + Decimal("0.20") * y
        + Decimal("0.25") * z
        + Decimal("0.15") * w
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- reading files ------------------------------------------------------------------------


def read_table(data: bytes, filename: str) -> Iterator[list[Any]]:
    """Rows of a CSV or the first sheet of an .xlsx file (header included)."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        yield from _xlsx(data)
        return
    for encoding in ("utf-8-sig", "cp932"):
        try:
            decoded = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportError_(
            [{"line": 0, "message": "文字コードが読めません（UTF-8 又は Shift_JIS）。"}]
        )
    yield from csv.reader(io.StringIO(decoded))


def _xlsx(data: bytes) -> Iterator[list[Any]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportError_([{"line": 0, "message": "Excelファイルとして読めません。"}]) from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date(value: str) -> str:
    value = value.replace("/", "-")
    parts = value.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    raise ValueError(value)


def _int(value: str) -> int:
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if number != number.to_integral_value() or number < 0:
        raise ValueError(value)
    return int(number)


def parse(rows: Iterator[list[Any]]) -> list[dict[str, Any]]:
    """The companies of the file: ``{key, permit, base_date, name, notified_on, insurance,
    iso14001, categories{code: {...}}}``. Raises ``ImportError_`` listing bad lines."""
    try:
        header = [_cell(c) for c in next(rows)]
    except StopIteration:
        raise ImportError_([{"line": 1, "message": "見出し行がありません。"}]) from None
    index = {name: header.index(label) for name, label in COLUMNS.items() if label in header}
    missing = [COLUMNS[name] for name in REQUIRED if name not in index]
    if missing:
        raise ImportError_([{"line": 1, "message": "列がありません: " + "、".join(missing)}])
    errors: list[dict[str, Any]] = []
    companies: dict[str, dict[str, Any]] = {}
    for line, raw in enumerate(rows, start=2):
        if line > MAX_ROWS + 1:
            errors.append({"line": line, "message": f"{MAX_ROWS:,}行までです。"})
            break
        cells = [_cell(c) for c in raw]
        if not any(cells):
            continue
        row = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
        try:
            company, code, figures = _line(row)
        except ValueError as exc:
            errors.append({"line": line, "message": str(exc)})
            if len(errors) >= MAX_ERRORS:
                break
            continue
        key = company["key"]
        found = companies.setdefault(key, company)
        for name in ("insurance", "iso14001"):
            if found[name] != company[name]:
                errors.append(
                    {
                        "line": line,
                        "message": "同じ会社・審査基準日の行で保険・ISOの値が異なります。",
                    }
                )
        if code in found["categories"]:
            errors.append(
                {"line": line, "message": "同じ会社・審査基準日・業種の行が重複しています。"}
            )
        found["categories"][code] = figures
    if errors:
        raise ImportError_(errors[:MAX_ERRORS])
    if not companies:
        raise ImportError_([{"line": 2, "message": "データ行がありません。"}])
    return list(companies.values())


def _line(row: Mapping[str, str]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    for name in REQUIRED:
        if not row.get(name):
            raise ValueError(f"「{COLUMNS[name]}」が空です。")
    authority = row["authority"].zfill(2)
    if authority not in dict(catalog.authorities()):
        raise ValueError("許可行政庁コードが正しくありません（00 又は 01～47）。")
    number = row["number"]
    if not number.isdigit() or len(number) > 6:
        raise ValueError("許可番号は6けた以内の数字です。")
    try:
        base_date = _date(row["base_date"])
        notified_on = _date(row["notified_on"]) if row.get("notified_on") else None
    except ValueError:
        raise ValueError("日付が正しくありません（例: 2018-03-31）。") from None
    code = _BY_NAME.get(row["category"]) or (
        row["category"] if row["category"] in catalog.CATEGORY_BY_CODE else None
    )
    if code is None:
        raise ValueError(f"業種「{row['category']}」は区分表にありません。")
    kind = PERMIT_KIND.get(row["permit_kind"])
    if kind is None:
        raise ValueError("許可区分は「一般」又は「特定」です。")
    try:
        figures = {
            name: _int(row[name]) for name in ("p", "staff1", "staff2", "staff_other", "average")
        }
        parts = [row.get(n, "") for n in ("x1", "x2", "y", "z", "w")]
        if any(parts):
            x1, x2, y, z, w = (_int(v) for v in parts)
            expected = p_score(x1, x2, y, z, w)
            if expected != figures["p"]:
                raise ValueError(
                    f"総合評定値P（{figures['p']}）が評点から計算した値（{expected}）と一致しません。"
                )
    except ValueError as exc:
        if "総合評定値" in str(exc):
            raise
        raise ValueError("数値の列に数字以外が入っています。") from None
    insurance = {n: row[n] for n in ("employment", "health", "pension")}
    if any(v not in ("有", "無", "適用除外") for v in insurance.values()):
        raise ValueError("保険の列は「有」「無」「適用除外」のいずれかです。")
    if row["iso14001"] not in ("有", "無"):
        raise ValueError("ISO14001の列は「有」又は「無」です。")
    company = {
        "key": review_key(authority, number, base_date),
        "permit": {"authority": authority, "number": str(int(number))},
        "base_date": base_date,
        "name": row.get("name", ""),
        "notified_on": notified_on,
        "insurance": insurance,
        "iso14001": row["iso14001"],
        "categories": {},
    }
    return company, code, {"permit_kind": kind, **figures}


# -- the check on send --------------------------------------------------------------------

_FIGURES = (
    ("permit_kind", "許可区分（一般・特定）"),
    ("p", "総合評点（P）"),
    ("staff1", "一級技術職員数"),
    ("staff2", "二級技術職員数"),
    ("staff_other", "その他技術職員数"),
    ("average", "平均完成工事高"),
)


def lookup_key(values: Mapping[str, Any]) -> str | None:
    """The 経審 record a filing names: item 31's licence when given, else item 10's."""
    review = section(values, "review")
    permit = section(review, "permit")
    if not text(permit, "number"):
        permit = section(section(values, "company"), "permit")
    authority, number = text(permit, "authority"), text(permit, "number")
    base = text(review, "base_date")
    if not (authority and number.isdigit() and base):
        return None
    return review_key(authority, number, base)


def mismatches(values: Mapping[str, Any], record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each difference between the filing's 経審 items and the stored data, by field."""
    if record is None:
        return [
            {
                "field": "review.base_date",
                "label": "31（又は10） 許可番号・32 審査基準日",
                "message": "経営事項審査のデータが見つかりません。"
                "許可番号（31又は10）と審査基準日（32）を確認してください。",
            }
        ]
    out: list[dict[str, Any]] = []
    review = section(values, "review")
    insurance = section(review, "insurance")
    for key, name in (
        ("employment", "雇用保険"),
        ("health", "健康保険"),
        ("pension", "厚生年金保険"),
    ):
        if text(insurance, key) != record["insurance"].get(key):
            out.append(_diff(f"review.insurance.{key}", f"{name}加入の有無"))
    if text(review, "iso14001") != record.get("iso14001"):
        out.append(_diff("review.iso14001", "ISO14001の登録の有無"))
    stored = record.get("categories") or {}
    for code, row in section(review, "categories").items():
        category = catalog.CATEGORY_BY_CODE.get(code)
        if category is None:
            continue
        found = stored.get(code)
        if found is None:
            out.append(
                {
                    "field": f"review.categories.{code}",
                    "label": f"33 {category.name}",
                    "message": f"{category.name}は経営事項審査の結果にありません。",
                }
            )
            continue
        for name, label in _FIGURES:
            typed = text(row, name) if isinstance(row, Mapping) else ""
            if name == "permit_kind":
                same = typed == found.get(name)
            else:
                same = typed.isdigit() and int(typed) == found.get(name)
            if not same:
                out.append(_diff(f"review.categories.{code}.{name}", f"{category.name}の{label}"))
    return out


def _diff(path: str, what: str) -> dict[str, Any]:
    return {
        "field": path,
        "label": what,
        "message": f"{what}が経営事項審査の結果と一致しません。"
        "総合評定値通知書を確認してください。",
    }


def summary(companies: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {
        "companies": len(companies),
        "lines": sum(len(c["categories"]) for c in companies),
    }
