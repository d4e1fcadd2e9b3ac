"""Free-text request fields: one rule set, used as ``Annotated[str, Text(200)]``.

Every text field a user types follows the same rules, checked in this order on the text as
sent, each refusal a 422 with a Japanese message:

1. no control characters (C0, DEL, C1 and the Unicode line/paragraph separators); a multi-line
   field allows tab, line feed and carriage return;
1a. no bidirectional formatting characters (U+202A-202E embeddings and overrides, U+2066-2069
   isolates, U+200E/200F marks, U+061C): "請求書\u202eftp.exe" would show as a harmless name
   while being another (issue 7 item 12; Unicode TR #36 2.1, CVE-2021-42574 "Trojan Source");
2. at most ``max_length`` characters;
3. a single-line field is trimmed of surrounding white space (a multi-line one is kept as is);
4. a required field may not be empty after that.

Field-specific rules (katakana readings, e-mail addresses, codes) are further validators placed
after ``Text`` in the same ``Annotated``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# Lone UTF-16 surrogates (\ud800-\udfff) too: no store, hash or log can encode them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

# Bidirectional formatting characters (Unicode TR #9 2.1-2.6 and 2.2 marks).
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

CONTROL_MESSAGE = "制御文字（改行・タブなど）は使用できません。"
BIDI_MESSAGE = "文字の表示方向を変える制御文字（U+202E など）は使用できません。"
CONTROL_MULTILINE_MESSAGE = "制御文字は使用できません。"
BLANK_MESSAGE = "空欄にはできません。"


def has_control_chars(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds a character no text field accepts (see the module docstring)."""
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL).search(value))


def has_bidi_controls(value: str) -> bool:
    """Whether ``value`` holds a bidirectional formatting character (see the module docstring);
    names and titles refuse them, since they make text display as something it is not."""
    return bool(_BIDI.search(value))


def strip_bidi(value: str) -> str:
    """``value`` without bidirectional formatting characters: for text we store but cannot
    refuse (names read from a deliverable's XML), so it displays as what it is."""
    return _BIDI.sub("", value)


@dataclass(frozen=True, slots=True)
class Text:
    """Pydantic metadata for a free-text ``str`` field: ``Annotated[str, Text(200)]``.

    ``required=False`` lets the field be empty (a default of ``""`` or ``None`` is the model's
    business); ``blank_message`` names the field when it is left empty.
    """

    max_length: int
    required: bool = True
    multiline: bool = False
    blank_message: str = BLANK_MESSAGE

    def __call__(self, value: str) -> str:
        if has_control_chars(value, multiline=self.multiline):
            raise ValueError(CONTROL_MULTILINE_MESSAGE if self.multiline else CONTROL_MESSAGE)
        if has_bidi_controls(value):
            raise ValueError(BIDI_MESSAGE)
        if len(value) > self.max_length:
            raise ValueError(f"{self.max_length}文字以内で入力してください。")
        if not self.multiline:
            value = value.strip()
        if self.required and not value:
            raise ValueError(self.blank_message)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.max_length
        if self.required:
            json_schema["minLength"] = 1
        return json_schema


# Full-width katakana, the prolonged sound mark, middle dot and spaces (after NFKC, which
# turns half-width katakana into full-width).
_KATAKANA = re.compile(r"^[\u30a1-\u30fa\u30fb\u30fc\u30fd\u30fe \u3000]+$")


def katakana(value: str) -> str:
    """A reading (フリガナ): NFKC-normalised, trimmed, full-width katakana or empty."""
    value = unicodedata.normalize("NFKC", value).strip()
    if value and not _KATAKANA.match(value):
        raise ValueError("フリガナは全角カタカナで入力してください。")
    return value


Kana = Annotated[str, Text(100, required=False), AfterValidator(katakana)]
"""A person's reading (フリガナ), at most 100 characters, may be empty."""
