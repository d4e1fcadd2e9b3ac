"""Form definitions are data (issue 10 §1): fields with a type, required flag, length, choices
and defaults taken from the work's basic information (seed 001 別表1-1 1(3), 3(3)), and a
layout for the printed page. This module checks a definition (``check_definition``: unknown
types, unknown or looping references, a layout naming unknown fields) and checks a proposal's
values against it (``check_values``: one error per field, seed 001 別表1-1 3(2)).

A definition::

    {"name": "工事打合せ簿", "work_kinds": ["construction"],
     "fields": [{"key": "matter", "label": "発議事項", "type": "choice", "required": true,
                 "choices": ["指示", "協議", ...], "part": "proposal"},
                {"key": "work_title", "label": "工事名", "type": "text",
                 "default": {"from": "work.title"}}, ...],
     "layout": {"title": "工事打合せ簿",
                "sections": [{"heading": "発議事項", "fields": ["matter"], "style": "checks"}]}}

``part`` is ``proposal`` (the proposer fills it) or ``answer`` (処理・回答, filled by an
approver of ``side`` orderer or contractor, seed 001 別表1-1 4(13)). ``default`` is
``{"from": <work source>}``, ``{"value": <literal>}`` or ``{"field": <other key>}``;
``show_if`` is ``{"field": <key>, "equals": <value>}`` (a hidden field is neither required
nor kept). References between fields must not loop (issue 10 "Bad input").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from api.kit.text import has_control_chars

FIELD_TYPES = {
    "text": "1行テキスト",
    "textarea": "複数行テキスト",
    "date": "日付",
    "number": "数値",
    "choice": "選択（1つ）",
    "multichoice": "選択（複数）",
    "boolean": "チェック",
    "table": "表",
}
COLUMN_TYPES = ("text", "number", "date")
PARTS = ("proposal", "answer")
SIDES = ("orderer", "contractor", "any")
STYLES = ("kv", "text", "checks", "table")
# Where a default may come from (seed 001 別表1-1 1(3): 工事基本情報 reflected in the form).
SOURCES = {
    "work.title": "工事名・業務名",
    "work.number": "工事番号・業務番号",
    "work.location": "工事場所",
    "work.period": "工期・履行期間",
    "work.period_start": "工期（開始）",
    "work.period_end": "工期（終了）",
    "work.orderer": "発注者",
    "work.office": "事務所",
    "work.contractor": "受注者",
    "work.supervisor": "監督員",
    "work.contract_price": "請負金額",
    "proposer.name": "発議者氏名",
    "proposer.org": "発議者の機関",
    "proposer.side": "発議者（発注者・受注者）",
    "today": "今日の日付",
}
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 80
MAX_CHOICES = 50
MAX_ROWS = 100
DEFAULT_LENGTH = {"text": 200, "textarea": 4000}
MAX_LENGTH = {"text": 1000, "textarea": 20000}


class FormError(ValueError):
    """A definition or a set of values is wrong; ``errors`` lists ``{field, message}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


# -- definitions ------------------------------------------------------------------------------


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and not has_control_chars(value)


def check_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition, normalised (defaults filled in), or ``FormError`` naming every
    problem: unknown field types, bad keys, missing choices, unknown sources, references to
    unknown fields, references that loop, a layout naming unknown fields."""
    errors: list[Problem] = []
    name = definition.get("name")
    if not _text(name, 100):
        errors.append(Problem("name", "様式名を100文字以内で入力してください。"))
    kinds = list(definition.get("work_kinds") or ["construction", "service"])
    if not kinds or any(k not in ("construction", "service") for k in kinds):
        errors.append(Problem("work_kinds", "対象は 工事 または 業務 です。"))
    raw_fields = definition.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        errors.append(Problem("fields", "項目を1つ以上定義してください。"))
        raw_fields = []
    if len(raw_fields) > MAX_FIELDS:
        errors.append(Problem("fields", f"項目は{MAX_FIELDS}個までです。"))
    fields: list[dict[str, Any]] = []
    keys: set[str] = set()
    for index, raw in enumerate(raw_fields):
        where = f"fields[{index}]"
        if not isinstance(raw, Mapping):
            errors.append(Problem(where, "項目の定義が正しくありません。"))
            continue
        field, problems = _check_field(raw, where)
        errors.extend(problems)
        if field is None:
            continue
        if field["key"] in keys:
            errors.append(Problem(where, f"項目キー「{field['key']}」が重複しています。"))
            continue
        keys.add(field["key"])
        fields.append(field)
    by_key = {f["key"]: f for f in fields}
    for field in fields:
        for ref in _refs(field):
            if ref not in by_key:
                errors.append(
                    Problem(
                        field["key"],
                        f"「{field['label']}」が未定義の項目「{ref}」を参照しています。",
                    )
                )
    loop = _find_loop(fields)
    if loop:
        errors.append(Problem("fields", "項目の参照が循環しています: " + " → ".join(loop)))
    layout, layout_problems = _check_layout(definition.get("layout"), by_key, str(name or ""))
    errors.extend(layout_problems)
    if errors:
        raise FormError([e.as_dict() for e in errors])
    return {
        "name": str(name),
        "work_kinds": sorted(set(kinds)),
        "fields": fields,
        "layout": layout,
        "description": str(definition.get("description") or "")[:1000],
    }


def _check_field(raw: Mapping[str, Any], where: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    errors: list[Problem] = []
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        return None, [
            Problem(where, "項目キーは英小文字で始まる英小文字・数字・_ の40文字以内です。")
        ]
    label = raw.get("label")
    if not _text(label, 100):
        errors.append(Problem(key, "項目名を100文字以内で入力してください。"))
        label = key
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        return None, [*errors, Problem(key, f"項目「{label}」の種類「{kind}」はありません。")]
    field: dict[str, Any] = {
        "key": key,
        "label": label,
        "type": kind,
        "required": bool(raw.get("required", False)),
        "part": raw.get("part", "proposal"),
    }
    if field["part"] not in PARTS:
        errors.append(Problem(key, "part は proposal か answer です。"))
    if field["part"] == "answer":
        field["side"] = raw.get("side", "any")
        if field["side"] not in SIDES:
            errors.append(Problem(key, "side は orderer, contractor, any のいずれかです。"))
    if kind in DEFAULT_LENGTH:
        length = raw.get("max_length", DEFAULT_LENGTH[kind])
        if not isinstance(length, int) or not 1 <= length <= MAX_LENGTH[kind]:
            errors.append(Problem(key, f"最大文字数は1〜{MAX_LENGTH[kind]}です。"))
            length = DEFAULT_LENGTH[kind]
        field["max_length"] = length
    if kind in ("choice", "multichoice"):
        choices = raw.get("choices")
        if (
            not isinstance(choices, list)
            or not 1 <= len(choices) <= MAX_CHOICES
            or not all(_text(c, 100) for c in choices)
            or len(set(choices)) != len(choices)
        ):
            errors.append(
                Problem(
                    key, f"項目「{label}」の選択肢を重複なく1〜{MAX_CHOICES}個定義してください。"
                )
            )
            choices = []
        field["choices"] = list(choices)
    if kind == "number":
        for bound in ("min", "max"):
            if raw.get(bound) is not None:
                if not isinstance(raw[bound], int | float) or isinstance(raw[bound], bool):
                    errors.append(Problem(key, f"{bound} は数値です。"))
                else:
                    field[bound] = raw[bound]
    if kind == "table":
        columns = raw.get("columns")
        cols: list[dict[str, Any]] = []
        if not isinstance(columns, list) or not 1 <= len(columns) <= 12:
            errors.append(Problem(key, f"表「{label}」の列を1〜12個定義してください。"))
            columns = []
        for column in columns:
            ckey, clabel, ctype = column.get("key"), column.get("label"), column.get("type", "text")
            if not isinstance(ckey, str) or not KEY.match(ckey) or not _text(clabel, 100):
                errors.append(Problem(key, f"表「{label}」の列の定義が正しくありません。"))
                continue
            if ctype not in COLUMN_TYPES:
                errors.append(Problem(key, f"表「{label}」の列の種類「{ctype}」はありません。"))
                continue
            cols.append({"key": ckey, "label": clabel, "type": ctype, "max_length": 200})
        field["columns"] = cols
        rows = raw.get("max_rows", 20)
        field["max_rows"] = rows if isinstance(rows, int) and 1 <= rows <= MAX_ROWS else 20
    default = raw.get("default")
    if default is not None:
        if not isinstance(default, Mapping) or len(default) != 1:
            errors.append(Problem(key, "初期値は from / value / field のいずれか1つで指定します。"))
        elif "from" in default:
            if default["from"] not in SOURCES:
                errors.append(Problem(key, f"初期値の参照先「{default['from']}」はありません。"))
            field["default"] = {"from": default["from"]}
        elif "field" in default:
            field["default"] = {"field": str(default["field"])}
        elif "value" in default:
            field["default"] = {"value": default["value"]}
            problem = _check_value(field, default["value"])
            if problem:
                errors.append(Problem(key, f"初期値: {problem}"))
        else:
            errors.append(Problem(key, "初期値は from / value / field のいずれか1つで指定します。"))
    show_if = raw.get("show_if")
    if show_if is not None:
        if not isinstance(show_if, Mapping) or "field" not in show_if:
            errors.append(Problem(key, "表示条件は {field, equals} で指定します。"))
        else:
            field["show_if"] = {"field": str(show_if["field"]), "equals": show_if.get("equals")}
    if raw.get("help") is not None:
        if _text(raw["help"], 300):
            field["help"] = raw["help"]
        else:
            errors.append(Problem(key, "説明は300文字以内です。"))
    return field, errors


def _refs(field: Mapping[str, Any]) -> list[str]:
    out = []
    default = field.get("default") or {}
    if "field" in default:
        out.append(str(default["field"]))
    if field.get("show_if"):
        out.append(str(field["show_if"]["field"]))
    return out


def _find_loop(fields: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """A cycle among field references (default.field, show_if.field), as the keys along it,
    or None."""
    graph = {f["key"]: [r for r in _refs(f)] for f in fields}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        path.append(key)
        for ref in graph.get(key, []):
            if ref not in graph:
                continue
            if state.get(ref) == 1:
                return [*path[path.index(ref) :], ref]
            if state.get(ref) is None:
                found = visit(ref)
                if found:
                    return found
        path.pop()
        state[key] = 2
        return None

    for key in graph:
        if state.get(key) is None:
            found = visit(key)
            if found:
                return found
    return None


def _check_layout(
    raw: Any, by_key: Mapping[str, Mapping[str, Any]], name: str
) -> tuple[dict[str, Any], list[Problem]]:
    errors: list[Problem] = []
    if raw is None:
        raw = {"sections": [{"fields": list(by_key)}]}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("sections"), list):
        return {}, [Problem("layout", "印刷レイアウトは sections の一覧で指定します。")]
    sections: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, section in enumerate(raw["sections"]):
        where = f"layout.sections[{index}]"
        if not isinstance(section, Mapping) or not isinstance(section.get("fields"), list):
            errors.append(Problem(where, "区分には項目の一覧が必要です。"))
            continue
        style = section.get("style", "kv")
        if style not in STYLES:
            errors.append(Problem(where, f"区分の表示形式「{style}」はありません。"))
        keys = []
        for key in section["fields"]:
            if key not in by_key:
                errors.append(
                    Problem(where, f"レイアウトが未定義の項目「{key}」を参照しています。")
                )
            elif key in seen:
                errors.append(Problem(where, f"項目「{key}」がレイアウトに2回あります。"))
            else:
                seen.add(key)
                keys.append(key)
        heading = section.get("heading")
        if heading is not None and not _text(heading, 100):
            errors.append(Problem(where, "区分の見出しは100文字以内です。"))
        sections.append({"heading": heading, "fields": keys, "style": style})
    title = raw.get("title") or name
    if not _text(title, 100):
        errors.append(Problem("layout.title", "印刷時の表題は100文字以内です。"))
    return {
        "title": title,
        "sections": sections,
        "stamps": bool(raw.get("stamps", True)),
    }, errors


# -- values -----------------------------------------------------------------------------------


def visible(field: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    cond = field.get("show_if")
    if not cond:
        return True
    return bool(values.get(cond["field"]) == cond.get("equals"))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _check_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return "日付を YYYY-MM-DD で入力してください。"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "日付を YYYY-MM-DD で入力してください。"
    return None if len(value) == 10 else "日付を YYYY-MM-DD で入力してください。"


def _check_value(field: Mapping[str, Any], value: Any) -> str | None:
    """Why ``value`` does not fit ``field`` (shape only, not required), or None."""
    if _empty(value):
        return None
    kind = field["type"]
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            return "文字で入力してください。"
        if has_control_chars(value, multiline=kind == "textarea"):
            return "制御文字は使用できません。"
        if len(value) > int(field["max_length"]):
            return f"{field['max_length']}文字以内で入力してください。"
    elif kind == "date":
        return _check_date(value)
    elif kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return "数値を入力してください。"
        if field.get("min") is not None and value < field["min"]:
            return f"{field['min']}以上の数値を入力してください。"
        if field.get("max") is not None and value > field["max"]:
            return f"{field['max']}以下の数値を入力してください。"
    elif kind == "choice":
        if value not in field["choices"]:
            return "選択肢から選んでください。"
    elif kind == "multichoice":
        if (
            not isinstance(value, list)
            or any(v not in field["choices"] for v in value)
            or len(set(value)) != len(value)
        ):
            return "選択肢から選んでください。"
    elif kind == "boolean":
        if not isinstance(value, bool):
            return "チェックの値が正しくありません。"
    elif kind == "table":
        return _check_rows(field, value)
    return None


def _check_rows(field: Mapping[str, Any], value: Any) -> str | None:
    if not isinstance(value, list):
        return "表の形式が正しくありません。"
    if len(value) > int(field["max_rows"]):
        return f"行は{field['max_rows']}行までです。"
    columns = {c["key"]: c for c in field["columns"]}
    for number, row in enumerate(value, start=1):
        if not isinstance(row, Mapping) or any(k not in columns for k in row):
            return f"{number}行目の形式が正しくありません。"
        for key, cell in row.items():
            problem = _check_value(columns[key], cell)
            if problem:
                return f"{number}行目「{columns[key]['label']}」: {problem}"
    return None


def check_values(
    definition: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    part: str = "proposal",
    required: bool = False,
    sides: Sequence[str] = ("orderer", "contractor", "any"),
) -> dict[str, Any]:
    """The values of ``part`` kept (unknown keys, hidden fields and other parts dropped), or
    ``FormError`` with one entry per wrong field, in the form's order. ``required``: missing
    required fields are errors too (at submission, 3(2); drafts may be incomplete, 3(5)).
    For answers, ``sides`` are the sides the answering user may fill."""
    errors: list[Problem] = []
    kept: dict[str, Any] = {}
    known = {f["key"] for f in definition["fields"]}
    for key in values:
        if key not in known:
            errors.append(Problem(str(key), f"項目「{key}」はこの様式にありません。"))
    for field in definition["fields"]:
        if field.get("part", "proposal") != part:
            continue
        key = field["key"]
        if part == "answer" and field.get("side", "any") not in sides and key in values:
            errors.append(Problem(key, f"「{field['label']}」は相手方が記入する欄です。"))
            continue
        combined = {**kept, **values}
        if not visible(field, combined):
            continue
        value = values.get(key)
        problem = _check_value(field, value)
        if problem:
            errors.append(Problem(key, f"{field['label']}: {problem}"))
            continue
        if _empty(value):
            if required and field.get("required"):
                errors.append(Problem(key, f"{field['label']}を入力してください。"))
            continue
        kept[key] = value
    if errors:
        raise FormError([e.as_dict() for e in errors])
    return kept


def defaults(definition: Mapping[str, Any], sources: Mapping[str, Any]) -> dict[str, Any]:
    """Initial values of a new proposal: work information (1(3)), literals and copies of
    other fields (references are loop-free, so a few passes settle them)."""
    out: dict[str, Any] = {}
    fields = [f for f in definition["fields"] if f.get("part", "proposal") == "proposal"]
    for _ in range(len(fields) + 1):
        changed = False
        for field in fields:
            default = field.get("default") or {}
            value: Any = None
            if "from" in default:
                value = sources.get(default["from"])
            elif "value" in default:
                value = default["value"]
            elif "field" in default:
                value = out.get(default["field"])
            if value is None or out.get(field["key"]) == value:
                continue
            if _check_value(field, value) is None:
                out[field["key"]] = value
                changed = True
        if not changed:
            break
    return out


def display(field: Mapping[str, Any], value: Any) -> str:
    """A value as printed text."""
    if _empty(value):
        return ""
    kind = field["type"]
    if kind == "multichoice":
        return "、".join(str(v) for v in value)
    if kind == "boolean":
        return "☑" if value else "☐"
    if kind == "number":
        return f"{value:,}" if isinstance(value, int) else str(value)
    if kind == "date":
        return str(value).replace("-", "/")
    if kind == "table":
        return f"{len(value)}行"
    return str(value)
