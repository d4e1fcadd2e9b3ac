"""Error collection for the application form: every problem of a step, by its field, in the
guide's wording (seed 004 第2 2(2): the 「全角50文字以内」「必須」 messages; 第2 3 ※②, 4 ※②:
errors listed at the top of the screen).

An error is ``{field, step, label, message}`` plus, where a width or kana conversion would fix
the value, ``suggestion``: the converted value the form offers (never applied by the server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.qualifications import widths

REQUIRED = "必須項目です。入力してください。"
REQUIRED_CHOICE = "必須項目です。選択してください。"
HALF_DIGITS = "半角数字で入力してください。"
PHONE = "半角数字とハイフンで入力してください（例：082-513-3841）。"
EMAIL = "Eメールアドレスの形式が正しくありません。"
DATE = "日付を正しく入力してください（例：2018-11-01）。"
FUTURE = "申請日より後の日付は入力できません。"
NAME_SPACE = "姓と名を一字空けて入力してください。"

_PHONE = re.compile(r"^[0-9]{2,5}-[0-9]{1,4}-[0-9]{3,4}$|^[0-9]{10,11}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_POSTAL = re.compile(r"^[0-9]{3}-?[0-9]{4}$")


def text(values: Mapping[str, Any], key: str) -> str:
    """A text value as typed (None and non-strings as empty)."""
    value = values.get(key)
    return value if isinstance(value, str) else ""


def section(values: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = values.get(key)
    return value if isinstance(value, Mapping) else {}


def items(values: Mapping[str, Any], key: str) -> list[Any]:
    value = values.get(key)
    return list(value) if isinstance(value, list) else []


@dataclass
class Checker:
    """Collects the errors of one step."""

    step: str
    today: date
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: str, label: str, message: str, suggestion: str | None = None) -> None:
        error: dict[str, Any] = {
            "field": path,
            "step": self.step,
            "label": label,
            "message": message,
        }
        if suggestion is not None:
            error["suggestion"] = suggestion
        self.errors.append(error)

    def has(self, path: str) -> bool:
        return any(e["field"] == path for e in self.errors)

    # -- single rules; each returns whether the value passed --------------------------------

    def required(self, path: str, label: str, value: str, *, choice: bool = False) -> bool:
        if value.strip():
            return True
        self.add(path, label, REQUIRED_CHOICE if choice else REQUIRED)
        return False

    def full_width(
        self, path: str, label: str, value: str, limit: int, *, required: bool = True
    ) -> bool:
        """全角 ``limit`` 文字以内 (必須 unless told otherwise)."""
        if not value:
            return not required or self.required(path, label, value)
        halves = widths.half_width_chars(value)
        if halves:
            shown = "".join(halves).replace(" ", "（空白）")
            self.add(
                path,
                label,
                f"全角{limit}文字以内で入力してください（半角文字「{shown}」が含まれています）。",
                widths.to_full_width(value),
            )
            return False
        if widths.length(value) > limit:
            self.add(path, label, f"全角{limit}文字以内で入力してください。")
            return False
        return True

    def katakana(
        self, path: str, label: str, value: str, limit: int, *, required: bool = True
    ) -> bool:
        if not value:
            return not required or self.required(path, label, value)
        if not widths.is_katakana(value):
            converted = widths.to_katakana(value)
            self.add(
                path,
                label,
                f"全角カタカナ{limit}文字以内で入力してください。",
                converted if widths.is_katakana(converted) else None,
            )
            return False
        if widths.length(value) > limit:
            self.add(path, label, f"全角カタカナ{limit}文字以内で入力してください。")
            return False
        return True

    def digits(
        self,
        path: str,
        label: str,
        value: str,
        *,
        required: bool = False,
        max_digits: int = 9,
        message: str = HALF_DIGITS,
    ) -> int | None:
        """半角数字; returns the number, or None when blank or wrong."""
        if not value:
            if required:
                self.required(path, label, value)
            return None
        if not widths.is_half_digits(value) or len(value) > max_digits:
            converted = widths.to_half_width_digits(value)
            fixable = widths.is_half_digits(converted) and len(converted) <= max_digits
            self.add(path, label, message, converted if fixable else None)
            return None
        return int(value)

    def phone(self, path: str, label: str, value: str, *, required: bool = True) -> bool:
        if not value:
            return not required or self.required(path, label, value)
        if not _PHONE.match(value):
            converted = widths.to_half_width_digits(value)
            self.add(path, label, PHONE, converted if _PHONE.match(converted) else None)
            return False
        return True

    def email(self, path: str, label: str, value: str, *, required: bool = True) -> bool:
        if not value:
            return not required or self.required(path, label, value)
        if len(value) > 100 or not _EMAIL.match(value):
            self.add(path, label, EMAIL)
            return False
        return True

    def postal(self, path: str, label: str, value: str) -> bool:
        if not self.required(path, label, value):
            return False
        if not _POSTAL.match(value):
            converted = widths.to_half_width_digits(value)
            self.add(
                path,
                label,
                "郵便番号は半角数字7けたで入力してください（例：730-8511）。",
                converted if _POSTAL.match(converted) else None,
            )
            return False
        return True

    def choice(
        self, path: str, label: str, value: str, allowed: tuple[str, ...], *, required: bool = True
    ) -> bool:
        if not value:
            return not required or self.required(path, label, value, choice=True)
        if value not in allowed:
            self.add(path, label, "選択肢から選んでください。")
            return False
        return True

    def day(
        self, path: str, label: str, value: str, *, required: bool = True, past: bool = True
    ) -> date | None:
        if not value:
            if required:
                self.required(path, label, value)
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.add(path, label, DATE)
            return None
        if past and parsed > self.today:
            self.add(path, label, FUTURE)
            return None
        return parsed

    def person_name(self, path: str, label: str, value: str, limit: int) -> bool:
        """全角, family and given name one (full-width) space apart (第2 4(5))."""
        if not self.full_width(path, label, value, limit):
            return False
        parts = value.split("\u3000")
        if len(parts) != 2 or not all(parts):
            self.add(path, label, NAME_SPACE)
            return False
        return True
