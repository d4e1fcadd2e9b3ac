"""The shared free-text field rules (api/kit/text.py)."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from api.kit.text import Kana, Text, has_control_chars


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
