"""Reading management XML: Shift_JIS/CP932, 機種依存文字 positions, no DTD fetch, no entities."""

from __future__ import annotations

import socket
import urllib.request
from typing import Any

import pytest

from indexer.extract.deliverable.models import read_index
from indexer.extract.deliverable.photos import photo_refs, photo_tree, read_photo
from indexer.extract.deliverable.xmlread import XmlError, decode, parse
from tests.deliverables.packages import INDEX_C, PHOTO, sjis


def test_shift_jis_strict_and_wave_dash_not_flagged() -> None:
    data = sjis('<?xml version="1.0" encoding="Shift_JIS"?>\n<a>4月～5月</a>')
    decoded = decode(data)
    assert decoded.issues == []
    doc = parse(data)
    assert doc.root.text == "4月〜5月"  # CP932's ～ read the Shift_JIS way


def test_platform_characters_found_with_line_and_column() -> None:
    text = '<?xml version="1.0" encoding="Shift_JIS"?>\n<a>\n  <b>第①工区 ㈱中央 ⅰ 髙橋</b>\n</a>'
    doc = parse(text.encode("cp932"))  # strict Shift_JIS fails on ①; CP932 fallback reads it
    found = {(i.char, i.line, i.column) for i in doc.issues if i.kind == "platform"}
    assert ("①", 3, 7) in found
    assert ("㈱", 3, 11) in found
    assert ("ⅰ", 3, 15) in found  # IBM extension (FA40)
    assert ("髙", 3, 17) in found  # IBM extension kanji
    assert doc.root.find("b") is not None


def test_halfwidth_kana_found() -> None:
    doc = parse(sjis('<?xml version="1.0" encoding="Shift_JIS"?>\n<a>ｺｳｼﾞ</a>'))
    assert next((i.kind, i.line, i.column) for i in doc.issues) == ("halfwidth_kana", 2, 4)


def test_utf8_declared() -> None:
    doc = parse('<?xml version="1.0" encoding="UTF-8"?><a>①</a>'.encode())
    assert doc.encoding == "UTF-8"
    assert doc.root.text == "①"


def test_malformed_reports_position() -> None:
    with pytest.raises(XmlError) as err:
        parse(sjis('<?xml version="1.0" encoding="Shift_JIS"?>\n<a>\n<b></c>\n</a>'))
    assert err.value.kind == "malformed"
    assert err.value.line == 3


def test_billion_laughs_refused_not_expanded() -> None:
    lol = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
        + "".join(
            f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" if i > 1 else "&lol;"}' * 1 + '">\n'
            for i in range(1, 10)
        )
        + "]>\n<lolz>&lol9;</lolz>"
    )
    with pytest.raises(XmlError) as err:
        parse(lol.encode())
    assert err.value.kind == "entities"
    assert err.value.line == 3


def test_dtd_and_external_entity_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    doc = parse(
        b'<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd">\n<a>x</a>'
    )
    assert doc.system_id == "http://127.0.0.1:9/evil.dtd"
    assert doc.root.text == "x"
    xxe = b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>\n<a>&x;</a>'
    with pytest.raises(XmlError) as err:
        parse(xxe)
    assert err.value.kind == "entities"
    param = (
        b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n<a/>'
    )
    with pytest.raises(XmlError):
        parse(param)
    assert calls == []


def test_index_c_reader_keeps_unknown_and_reads_fields() -> None:
    doc = parse(sjis(INDEX_C.replace("</constdata>", "<独自拡張>残す</独自拡張>\n</constdata>")))
    assert doc.system_id == "INDE_C08.DTD"
    assert doc.dtd_version == "08"
    info = read_index(doc, "C")
    assert info.applied_standard == "土木202203-01"
    assert info.title == "市道中央線道路改良工事"
    assert info.period_start == "2026-04-01"
    assert info.period_end == "2027-03-15"
    assert info.folders["台帳フォルダ名"] == "REGISTER"
    assert info.main.get("独自拡張") == "残す"  # unknown elements are kept
    assert "中央橋" in info.text_names()
    line, _ = info.main.pos("工事名称")
    assert line == 17


def test_old_spellings_accepted() -> None:
    old = INDEX_C.replace("受注者名", "請負者名").replace("工期開始日", "工期開始日")
    info = read_index(parse(sjis(old)), "C")
    assert info.contractor == "株式会社中央建設"


def test_photo_reader_and_tree() -> None:
    info = read_photo(parse(sjis(PHOTO)))
    assert [p.serial for p in info.photos] == ["1", "2"]
    assert info.dra_folder == "PHOTO/DRA"
    refs = photo_refs(info, "PHOTO/PHOTO.XML")
    assert {r.doc_class for r in refs} == {"photo", "reference_drawing"}
    tree = photo_tree(refs)
    assert tree[0]["label"] == "工事"
    assert tree[0]["count"] == 2
    kubun = {c["label"]: c["count"] for c in tree[0]["children"]}
    assert kubun == {"着手前及び完成写真": 1, "施工状況写真": 1}
    leaf = tree[0]["children"][1]["children"][0]["children"][0]
    assert leaf["level"] == "種別"
    title = leaf["children"][0]  # the 写真タイトル level (issue 8 item 11)
    assert (title["level"], title["label"]) == ("写真タイトル", "掘削状況")
    assert title["photos"][0]["title"] == "掘削状況"
    assert title["photos"][0]["representative"] is False
