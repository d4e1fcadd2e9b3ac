"""Plain text encodings of Japanese files: UTF-8 (with and without BOM), Shift_JIS, CP932
with 機種依存文字, EUC-JP, half-width kana; binary data is not text."""

from __future__ import annotations

import io

import pytest

from indexer.extract import extract
from indexer.extract.text import decode

SAMPLE = "道路改良工事　打合せ簿\n受注者：山田建設㈱ 工区①～③ ｺﾝｸﾘｰﾄ打設\n"


def test_cp932_with_vendor_characters() -> None:
    got = decode(SAMPLE.encode("cp932"))
    assert got.is_text
    assert got.encoding == "cp932"  # ① and ㈱ are not in plain Shift_JIS
    assert got.text == SAMPLE


def test_plain_shift_jis_and_half_width_kana() -> None:
    text = "ｶﾀｶﾅの書類 ﾃﾞｰﾀ ﾊﾟｲﾌﾟ 工事写真"
    got = decode(text.encode("shift_jis"))
    assert got.encoding == "shift_jis"
    assert got.text == text


def test_utf8_with_and_without_bom() -> None:
    with_bom = decode(b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"))
    assert (with_bom.encoding, with_bom.text) == ("utf-8-sig", SAMPLE)
    plain = decode(SAMPLE.encode("utf-8"))
    assert (plain.encoding, plain.text) == ("utf-8", SAMPLE)


def test_euc_jp_is_told_from_shift_jis() -> None:
    text = "完成図書の電子納品要領に従って作成した報告書です。"
    got = decode(text.encode("euc_jp"))
    assert got.encoding == "euc_jp"
    assert got.text == text


def test_a_cut_multibyte_character_at_the_end_is_dropped() -> None:
    data = SAMPLE.encode("cp932")
    got = decode(data[:-2] + data[-1:][:0] + "道".encode("cp932")[:1], truncated=True)
    assert got.is_text
    assert got.text.startswith("道路改良工事")


@pytest.mark.parametrize("data", [bytes(range(256)) * 16, b"\x00\x01\x02abc" * 100])
def test_binary_is_not_text(data: bytes) -> None:
    assert not decode(data).is_text


def test_binary_labelled_txt_gets_a_flag_not_an_error() -> None:
    detected, got = extract(io.BytesIO(bytes(range(256)) * 16), "memo.txt")
    assert detected.mismatch
    assert got.not_text
    assert got.pages == []
    assert got.notes == ["テキストファイルとして読み取れない内容です。"]


def test_text_extraction_through_the_registry() -> None:
    detected, got = extract(io.BytesIO(SAMPLE.encode("cp932")), "memo.txt")
    assert detected.file_type == "text"
    assert got.extractor == "text"
    assert got.encoding == "cp932"
    assert got.pages == [SAMPLE]


def test_zero_bytes() -> None:
    detected, got = extract(io.BytesIO(b""), "empty.txt")
    assert detected.family == "empty"
    assert got.pages == []
    assert not got.broken


def test_xml_is_indexed_without_its_markup() -> None:
    """Search snippets never show raw tags (issue 8 §3 item 2): an INDEX_C.XML in CP932 is
    indexed as its elements' text, comments and declarations dropped, entities resolved."""
    from indexer.extract.text import markup_text

    xml = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n'
        '<!DOCTYPE constdata SYSTEM "INDE_C08.DTD">\n'
        '<?xml-stylesheet type="text/xsl" href="INDE_C08.XSL"?>\n'
        '<constdata DTD_version="08"><!-- 作成: 春日建設 -->\n'
        "<工事件名等><工事名称>市道中央線&amp;県道 改良工事</工事名称>\n"
        "<工事内容><![CDATA[L=120m <舗装>]]></工事内容><予備/></工事件名等>\n"
        "<備考>&#x3042;&lt;注&gt;</備考></constdata>\n"
    )
    assert markup_text(xml) == "市道中央線&県道 改良工事\nL=120m <舗装>\nあ<注>"
    _, got = extract(io.BytesIO(xml.encode("cp932")), "INDEX_C.XML")
    assert got.pages == ["市道中央線&県道 改良工事\nL=120m <舗装>\nあ<注>"]
    dtd = '<!ELEMENT constdata (基礎情報)>\n<!ATTLIST constdata DTD_version CDATA #FIXED "08">\n'
    assert extract(io.BytesIO(dtd.encode()), "INDE_C08.DTD")[1].pages == []


def test_plain_text_keeps_angle_brackets() -> None:
    _, got = extract(io.BytesIO("寸法 <100mm> を確認\n".encode()), "memo.txt")
    assert got.pages == ["寸法 <100mm> を確認\n"]
