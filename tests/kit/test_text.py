"""The shared free-text field rules (api/kit/text.py)."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from api.kit.text import Kana, Text, has_bidi_controls, has_control_chars, strip_bidi


class _Form(BaseModel):
    name: Annotated[str, Text(5)] = "x"
    note: Annotated[str, Text(5, required=False)] = ""
    body: Annotated[str, Text(8, multiline=True)] = "x"
    kana: Kana = ""


def _message(**fields: str) -> str:
    with pytest.raises(ValidationError) as info:
        _Form(**fields)
    return str(info.value.errors()[0]["msg"])


def test_single_line_is_trimmed_and_required() -> None:
    assert _Form(name="  山田 ").name == "山田"
    assert _Form(note="  ").note == ""
    assert "空欄にはできません。" in _message(name="   ")
    assert "空欄にはできません。" in _message(name="")


@pytest.mark.parametrize("bad", ["a\nb", "a\tb", "a\x00", "a\x85", "a\u2028"])
def test_control_characters_refused(bad: str) -> None:
    assert "制御文字（改行・タブなど）" in _message(name=bad)


def test_multi_line_keeps_newlines_and_spaces() -> None:
    assert _Form(body=" a\r\n\tb ").body == " a\r\n\tb "
    assert _message(body="a\x0bb") == "Value error, 制御文字は使用できません。"


def test_length_counted_before_trimming() -> None:
    assert _message(name="abcdef") == "Value error, 5文字以内で入力してください。"
    assert "5文字以内" in _message(name=" abcd ")


def test_kana_normalised_to_full_width_katakana() -> None:
    assert _Form(kana=" ﾔﾏﾀﾞ ").kana == "ヤマダ"
    assert "全角カタカナ" in _message(kana="やまだ")


def test_json_schema_states_the_lengths() -> None:
    props = _Form.model_json_schema()["properties"]
    assert (props["name"]["minLength"], props["name"]["maxLength"]) == (1, 5)
    assert "minLength" not in props["note"]


def test_has_control_chars() -> None:
    assert has_control_chars("a\nb")
    assert not has_control_chars("a\nb", multiline=True)
    assert not has_control_chars("全角　スペース")


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"]
BIDI += ["\u2069", "\u200e", "\u200f", "\u061c"]


@pytest.mark.parametrize("ch", BIDI)
def test_bidi_controls_refused_in_every_text_field(ch: str) -> None:
    """Issue 7 item 12 (Unicode TR #36 2.1): "請求書\u202efdp.exe" displays as "請求書exe.pdf"."""
    message = "文字の表示方向を変える制御文字（U+202E など）は使用できません。"
    assert message in _message(name=f"a{ch}b")
    assert message in _message(body=f"a{ch}b")
    assert has_bidi_controls(f"x{ch}")
    assert strip_bidi(f"請求書{ch}fdp.exe") == "請求書fdp.exe"


def test_ordinary_japanese_is_not_bidi() -> None:
    assert not has_bidi_controls("福山市春日町２丁目ほか道路標示工事（その１）・ｶﾅ")
